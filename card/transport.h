// What the card layer needs from a reader: send raw APDUs, hold the card for a multi-APDU
// operation, and reset it. Implemented by PcscTransport (pcsc-lite) and by the simulator.
#pragma once

#include "common/bytes.h"

#include <cstddef>
#include <cstdint>

namespace jpki {

class Transport {
public:
    virtual ~Transport() = default;

    // Sends one raw command APDU and returns the raw response (data + SW1 SW2).
    // Throws CardError with a transport code (CardRemoved, NoService, ...).
    virtual Bytes transmit(const std::uint8_t* command, std::size_t len) = 0;
    // Takes the card lock; nobody else can talk to the card until end_transaction.
    // A card reset by someone else is handled inside (reconnect) and reported by was_reset().
    virtual void begin_transaction() = 0;
    // Releases the card lock; never throws.
    virtual void end_transaction() noexcept = 0;
    // Warm-resets the card, which should clear every security status (verified PINs).
    virtual void reset_card() = 0;
    // Powers the card down and up again (cold reset): for readers whose warm reset leaves the
    // security status in place.
    virtual void unpower_card() = 0;
    // True once after the card was reset or reconnected underneath us (the selected
    // application and any security status are gone).
    virtual bool take_reset_flag() noexcept = 0;
    // The card's answer to reset.
    virtual Bytes atr() const = 0;
};

// Holds a Transport's card lock for the life of a scope.
class TransactionGuard {
public:
    explicit TransactionGuard(Transport& t) : t_(t) { t_.begin_transaction(); }
    ~TransactionGuard() { t_.end_transaction(); }
    TransactionGuard(const TransactionGuard&) = delete;
    TransactionGuard& operator=(const TransactionGuard&) = delete;

private:
    Transport& t_;
};

}  // namespace jpki
