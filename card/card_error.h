// The card layer's one error type: every PC/SC failure, every status word that is not success
// and every local refusal (a malformed PIN, a blocked PIN) becomes a CardError with a code.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace jpki {

enum class CardErrc {
    // Transport (PC/SC or simulator)
    NoService,             // pcscd not running / gone
    NoReader,              // reader unknown or unplugged
    NoCard,                // reader empty
    CardRemoved,           // card pulled out during use
    CardReset,             // someone reset the card; security status lost
    SharingViolation,      // card held exclusively by another process
    Cancelled,             // a wait was cancelled
    Timeout,               // a wait timed out
    CommunicationError,    // any other transport failure
    // The card's answer
    MalformedResponse,     // shorter than a status word, wrong length, garbage
    NotJpki,               // the JPKI AP is not on this card
    OtherCard,             // after a reset, the card in the reader is not the one identified
    // Status words (ISO 7816-4 / JICSAP)
    PinIncorrect,          // 63Cx after VERIFY with data; tries_left = x
    PinBlocked,            // 6983/6984, or 63C0
    SecurityStatusNotSatisfied,  // 6982
    FileNotFound,          // 6A82
    WrongP1P2,             // 6A86 / 6B00 outside READ BINARY / 6A88
    EndOfFile,             // 6B00 / 6282 during READ BINARY
    WrongLength,           // 6700
    ConditionsNotSatisfied,// 6985
    CommandNotAllowed,     // 6981 / 6986
    InsNotSupported,       // 6D00
    ClaNotSupported,       // 6E00
    UnexpectedStatus,      // anything else
    // Local refusals: nothing was sent to the card
    PinLength,             // wrong number of characters
    PinCharacters,         // a character the card's PIN alphabet lacks
    StalePin,              // a kept PIN not sent: the counter moved since it was verified
    BadArgument,           // data too long for the command, wrong PIN for this reference, ...
};

const char* to_string(CardErrc code) noexcept;

// The card is no longer reachable through its connection: it left, its reader went, or the
// reader service (pcscd) went and took every handle with it. What was known of it is void.
bool is_card_gone(CardErrc code) noexcept;

// The card answered, with a refusal or with something that makes no sense (a file absent or
// malformed, a status word out of place), as opposed to the card, its reader or the service
// failing or going away: what callers may tolerate for one file or one value.
bool is_card_answer(CardErrc code) noexcept;

class CardError : public std::runtime_error {
public:
    CardError(CardErrc code, const std::string& what, std::uint16_t sw = 0, int tries_left = -1);

    CardErrc code() const noexcept { return code_; }
    std::uint16_t sw() const noexcept { return sw_; }           // 0 when no status word applies
    int tries_left() const noexcept { return tries_left_; }     // -1 when unknown

private:
    CardErrc code_;
    std::uint16_t sw_;
    int tries_left_;
};

// Maps a non-success status word of a command to an error code (VERIFY's 63Cx is handled by
// the caller, which knows whether the command carried a PIN).
CardErrc errc_from_sw(std::uint16_t sw) noexcept;

// Throws the CardError for a non-success status word; `what` names the command.
[[noreturn]] void throw_for_sw(std::uint16_t sw, const std::string& what);

}  // namespace jpki
