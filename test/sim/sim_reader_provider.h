// In-process readers for the test build of the module (jpki-pkcs11-sim.so), never linked into
// the shipped one: tests add readers and insert or pull out simulated cards while the module
// runs, through SimReaders::instance().
#pragma once

#include "card/reader_provider.h"
#include "test/sim/jpki_card.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace jpki::sim {

// The methods a test calls are virtual: a test reaches the module's own instance through
// jpki_test_sim_readers() and its calls then run the module's code.
class SimReaders {
public:
    static SimReaders& instance();
    virtual ~SimReaders() = default;

    // Adds an empty reader and returns its index.
    virtual int add_reader(const std::string& name);
    // Puts a new card into a reader (pulling out any card there) and returns it.
    virtual std::shared_ptr<JpkiCard> insert(int reader, const CardConfig& config);
    // Pulls the card out: its transports fail with CardRemoved from now on.
    virtual void remove(int reader);
    // The card in a reader, or null.
    virtual std::shared_ptr<JpkiCard> card(int reader);
    // Removes every reader and card (between tests).
    virtual void clear();

    // For the provider.
    std::vector<ReaderSnapshot> snapshot();
    std::shared_ptr<JpkiCard> card_named(const std::string& reader);
    // Waits for an event after `seen` (the generation the caller knew) or until `stop()`.
    bool wait(unsigned long& seen, long timeout_ms, const bool& stop);
    // Sets `flag` (a waiter's stop flag) and wakes every waiter.
    void raise_and_wake(bool& flag);
    unsigned long generation();

private:
    struct Reader {
        std::string name;
        std::shared_ptr<JpkiCard> card;
        unsigned long events = 0;
    };
    void changed();  // called with mutex_ held

    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Reader> readers_;
    unsigned long generation_ = 0;
};

// A ReaderProvider over SimReaders::instance().
std::unique_ptr<ReaderProvider> make_sim_reader_provider();

}  // namespace jpki::sim
