// Identifying a newly inserted card (connect, SELECT, EF 0006 / 0008, the authentication
// certificate), on a thread of its own where the application allows threads: the call that
// asked waits a bounded time, and a card still busy (slow, or held in a transaction by another
// program, where SCardBeginTransaction waits without bound) is attached by a later call, with a
// slot event. Where threads are not allowed it runs in the caller, as before.
#pragma once

#include "card/reader_provider.h"
#include "common/mutex.h"
#include "pkcs11/card_state.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

namespace jpki::p11 {

enum class Threads { Allowed, NotAllowed };

class Identification {
public:
    struct Result {
        std::shared_ptr<CardState> card;  // null: no usable JPKI card
        bool transient = false;           // a failure worth another try later (busy, mute)
    };

    // Made first (so that calls can wait for it before it runs), then begun: identifies the
    // card in reader `reader` (`card_events`: PC/SC's count then), on a thread of its own, or
    // here where threads are not allowed.
    static void begin(const std::shared_ptr<Identification>& id, std::shared_ptr<ReaderProvider> provider,
                      std::string reader, unsigned long card_events, MutexMaker mutexes, Threads threads);
    // Waits until done or `deadline`; true when done.
    bool wait_until(std::chrono::steady_clock::time_point deadline);
    // When it began: every call about its reader waits for it until a bounded time after this.
    std::chrono::steady_clock::time_point started() const { return started_; }
    bool done();
    // The result, once done (moved out).
    Result take();

private:
    void run(ReaderProvider& provider, const std::string& reader, unsigned long card_events,
             const MutexMaker& mutexes) noexcept;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::mutex mutex_;
    std::condition_variable finished_;
    bool done_ = false;
    Result result_;
};

// Waits, bounded, until no thread is identifying a card; false if one still is.
bool wait_for_identifications(std::chrono::milliseconds bound);

}  // namespace jpki::p11
