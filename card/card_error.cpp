#include "card/card_error.h"

#include "card/status_words.h"

#include <cstdio>

namespace jpki {

const char* to_string(CardErrc code) noexcept {
    switch (code) {
    case CardErrc::NoService: return "PC/SC service not available";
    case CardErrc::NoReader: return "reader not available";
    case CardErrc::NoCard: return "no card in the reader";
    case CardErrc::CardRemoved: return "card removed";
    case CardErrc::CardReset: return "card was reset";
    case CardErrc::SharingViolation: return "card in use by another program";
    case CardErrc::Cancelled: return "cancelled";
    case CardErrc::Timeout: return "timed out";
    case CardErrc::CommunicationError: return "communication error";
    case CardErrc::MalformedResponse: return "malformed response from the card";
    case CardErrc::NotJpki: return "not a JPKI card";
    case CardErrc::OtherCard: return "another card is in the reader";
    case CardErrc::PinIncorrect: return "PIN incorrect";
    case CardErrc::PinBlocked: return "PIN blocked";
    case CardErrc::SecurityStatusNotSatisfied: return "security status not satisfied";
    case CardErrc::FileNotFound: return "file not found";
    case CardErrc::WrongP1P2: return "wrong parameters P1-P2";
    case CardErrc::EndOfFile: return "end of file";
    case CardErrc::WrongLength: return "wrong length";
    case CardErrc::ConditionsNotSatisfied: return "conditions of use not satisfied";
    case CardErrc::CommandNotAllowed: return "command not allowed";
    case CardErrc::InsNotSupported: return "instruction not supported";
    case CardErrc::ClaNotSupported: return "class not supported";
    case CardErrc::UnexpectedStatus: return "unexpected status word";
    case CardErrc::PinLength: return "PIN has the wrong length";
    case CardErrc::PinCharacters: return "PIN has characters the card does not accept";
    case CardErrc::StalePin: return "PIN counter moved since login: kept PIN not sent";
    case CardErrc::BadArgument: return "bad argument";
    }
    return "unknown card error";
}

bool is_card_gone(CardErrc code) noexcept {
    return code == CardErrc::CardRemoved || code == CardErrc::NoCard || code == CardErrc::NoReader ||
           code == CardErrc::NoService || code == CardErrc::OtherCard;
}

bool is_card_answer(CardErrc code) noexcept {
    switch (code) {
    case CardErrc::MalformedResponse:
    case CardErrc::FileNotFound:
    case CardErrc::WrongP1P2:
    case CardErrc::EndOfFile:
    case CardErrc::WrongLength:
    case CardErrc::CommandNotAllowed:
    case CardErrc::SecurityStatusNotSatisfied:
    case CardErrc::ConditionsNotSatisfied:
    case CardErrc::InsNotSupported:
    case CardErrc::ClaNotSupported:
    case CardErrc::UnexpectedStatus:
        return true;
    default:
        return false;
    }
}

static std::string describe(CardErrc code, const std::string& what, std::uint16_t sw) {
    std::string s = what + ": " + to_string(code);
    if (sw) {
        char buf[16];
        std::snprintf(buf, sizeof buf, " (SW %04X)", sw);
        s += buf;
    }
    return s;
}

CardError::CardError(CardErrc code, const std::string& what, std::uint16_t sw, int tries_left)
    : std::runtime_error(describe(code, what, sw)), code_(code), sw_(sw), tries_left_(tries_left) {}

CardErrc errc_from_sw(std::uint16_t sw) noexcept {
    switch (sw) {
    case 0x6282: return CardErrc::EndOfFile;
    case 0x6700: return CardErrc::WrongLength;
    case 0x6981: return CardErrc::CommandNotAllowed;
    case 0x6982: return CardErrc::SecurityStatusNotSatisfied;
    case 0x6983: return CardErrc::PinBlocked;
    case 0x6984: return CardErrc::PinBlocked;
    case 0x6985: return CardErrc::ConditionsNotSatisfied;
    case 0x6986: return CardErrc::CommandNotAllowed;
    case 0x6A82: return CardErrc::FileNotFound;
    case 0x6A86: return CardErrc::WrongP1P2;
    case 0x6A88: return CardErrc::WrongP1P2;
    case 0x6B00: return CardErrc::WrongP1P2;
    case 0x6D00: return CardErrc::InsNotSupported;
    case 0x6E00: return CardErrc::ClaNotSupported;
    default: break;
    }
    if (sw::retries(sw)) return CardErrc::PinIncorrect;
    return CardErrc::UnexpectedStatus;
}

void throw_for_sw(std::uint16_t sw, const std::string& what) {
    CardErrc code = errc_from_sw(sw);
    throw CardError(code, what, sw, sw::retries(sw).value_or(-1));
}

}  // namespace jpki
