// Where cards come from: a list of readers with card presence, a way to connect to a card,
// and a wait for reader/card events. The PKCS#11 layer uses only this interface; PC/SC
// (PcscReaderProvider) and the in-process simulator implement it.
#pragma once

#include "card/transport.h"
#include "common/mutex.h"

#include <memory>
#include <string>
#include <vector>

namespace jpki {

struct ReaderSnapshot {
    std::string name;
    bool card_present = false;
    // Changes whenever a card is inserted or removed (so a swap between two looks is seen).
    unsigned long card_events = 0;
};

class ReaderProvider {
public:
    virtual ~ReaderProvider() = default;
    // The readers now, without blocking on a card.
    virtual std::vector<ReaderSnapshot> readers() = 0;
    // Changes when the reader service was lost and found again (pcscd restarted): every
    // connection made before is void then, whatever the readers look like.
    virtual unsigned long service_epoch() const { return 0; }
    // Connects to the card in `reader`; throws CardError.
    virtual std::unique_ptr<Transport> connect(const std::string& reader) = 0;
    // Blocks until a reader or card event, at most `timeout_ms` (-1: no limit). Returns
    // false on timeout; throws CardError(Cancelled) once cancel() was called.
    virtual bool wait_for_change(long timeout_ms) = 0;
    // Wakes every wait_for_change, now and later. Thread-safe.
    virtual void cancel() noexcept = 0;
    // In a forked child: forget every handle without releasing it (the parent still uses
    // them), so that destruction touches nothing.
    virtual void abandon() noexcept = 0;
};

// The provider linked in: PC/SC (pcsc/) in the shipped module, the in-process simulator in
// the test build. Its locks come from `mutexes` (the application's, when it gave callbacks).
std::unique_ptr<ReaderProvider> make_reader_provider(const MutexMaker& mutexes);

}  // namespace jpki
