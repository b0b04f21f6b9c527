// Watches readers and cards through SCardGetStatusChange on a PC/SC context of its own, so a
// blocked wait can be cancelled (SCardCancel on exactly that context) from another thread.
#pragma once

#include "pcsc/pcsc_context.h"

#include <atomic>
#include <string>
#include <vector>

namespace jpki {

struct ReaderState {
    std::string name;
    bool card_present = false;
    bool exclusive = false;       // another program holds the card exclusively
    unsigned event_count = 0;     // pcsc-lite's per-reader card event counter
};

class ReaderMonitor {
public:
    ReaderMonitor();  // throws CardError(NoService)

    // Refreshes the snapshot without blocking.
    void refresh() { wait_for_change(0); }
    // Blocks until a reader appears or goes, or a card is inserted or removed, for at most
    // `timeout_ms` (-1: no limit). Returns false on timeout; throws CardError(Cancelled)
    // after cancel().
    bool wait_for_change(long timeout_ms);
    // The readers and their cards as of the last wait or refresh.
    const std::vector<ReaderState>& readers() const { return readers_; }
    // Wakes a blocked wait_for_change from any thread.
    void cancel() noexcept;
    // Forgets the context without releasing it (forked child).
    void abandon() noexcept { context_.abandon(); }

private:
    PcscContext context_;
    std::vector<ReaderState> readers_;
    std::vector<unsigned long> last_states_;  // dwEventState per reader, in readers_ order
    unsigned long last_pnp_state_ = 0;
};

}  // namespace jpki
