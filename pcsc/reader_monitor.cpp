#include "pcsc/reader_monitor.h"

#include "pcsc/pcsc_call.h"

#include <PCSC/pcsclite.h>

namespace jpki {

namespace {
// pcsc-lite's pseudo reader that changes when a reader is added or removed.
const char kPnpReader[] = "\\\\?PnP?\\Notification";
}  // namespace

ReaderMonitor::ReaderMonitor() = default;

bool ReaderMonitor::wait_for_change(long timeout_ms) {
    const std::vector<std::string> names = context_.readers();
    std::vector<SCARD_READERSTATE> states(names.size() + 1);
    bool list_changed = names.size() != readers_.size();
    for (std::size_t i = 0; i < names.size(); ++i) {
        states[i].szReader = names[i].c_str();
        // Known reader: wait for a change from what we saw; new reader: report it at once.
        if (i < readers_.size() && readers_[i].name == names[i]) {
            states[i].dwCurrentState = last_states_[i] & ~static_cast<unsigned long>(SCARD_STATE_CHANGED);
        } else {
            states[i].dwCurrentState = SCARD_STATE_UNAWARE;
            list_changed = true;
        }
    }
    SCARD_READERSTATE& pnp = states.back();
    pnp.szReader = kPnpReader;
    pnp.dwCurrentState = last_pnp_state_ & ~static_cast<unsigned long>(SCARD_STATE_CHANGED);

    const DWORD timeout = timeout_ms < 0 ? INFINITE : static_cast<DWORD>(timeout_ms);
    // A new reader list is itself a change: look without blocking.
    // A reader that went away between the listing and the look (unknown/unavailable) is a
    // change: the CardError(NoReader) makes the caller look again, with our snapshot kept.
    const LONG rv = pcsc_check("SCardGetStatusChange",
                               SCardGetStatusChange(context_.get(), list_changed ? 0 : timeout, states.data(),
                                                    static_cast<DWORD>(states.size())),
                               {SCARD_E_TIMEOUT});

    bool changed = list_changed;
    readers_.clear();
    last_states_.clear();
    for (std::size_t i = 0; i < names.size(); ++i) {
        const unsigned long ev = states[i].dwEventState;
        if (rv == SCARD_S_SUCCESS && (ev & SCARD_STATE_CHANGED)) changed = true;
        ReaderState r;
        r.name = names[i];
        r.card_present = (ev & SCARD_STATE_PRESENT) && !(ev & SCARD_STATE_MUTE);
        r.exclusive = ev & SCARD_STATE_EXCLUSIVE;
        r.event_count = static_cast<unsigned>(ev >> 16);
        readers_.push_back(r);
        last_states_.push_back(rv == SCARD_S_SUCCESS ? ev : states[i].dwCurrentState);
    }
    if (rv == SCARD_S_SUCCESS) {
        if (pnp.dwEventState & SCARD_STATE_CHANGED) changed = true;
        last_pnp_state_ = pnp.dwEventState;
    }
    return changed;
}

void ReaderMonitor::cancel() noexcept {
    if (context_.get()) SCardCancel(context_.get());
}

}  // namespace jpki
