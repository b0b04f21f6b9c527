// ISO 7816-4 status words (section 5.6) by name, and the questions the card layer asks of
// them. JICSAP's PIN answers: 63Cx = x tries left; 6983/6984 = blocked.
#pragma once

#include <cstdint>
#include <optional>

namespace jpki::sw {

constexpr std::uint16_t kOk = 0x9000;
constexpr std::uint16_t kEndOfFileWarning = 0x6282;   // fewer bytes than asked: end of file
constexpr std::uint16_t kNoCounter = 0x6300;          // verification failed, no counter given
constexpr std::uint16_t kWrongLength = 0x6700;
constexpr std::uint16_t kSecurityStatusNotSatisfied = 0x6982;
constexpr std::uint16_t kAuthenticationBlocked = 0x6983;
constexpr std::uint16_t kReferenceDataBlocked = 0x6984;
constexpr std::uint16_t kConditionsNotSatisfied = 0x6985;
constexpr std::uint16_t kFileNotFound = 0x6A82;
constexpr std::uint16_t kWrongP1P2 = 0x6A86;
constexpr std::uint16_t kReferenceNotFound = 0x6A88;
constexpr std::uint16_t kWrongParameters = 0x6B00;    // also "past the end" for READ BINARY
constexpr std::uint16_t kInsNotSupported = 0x6D00;
constexpr std::uint16_t kClaNotSupported = 0x6E00;

inline std::uint8_t sw1(std::uint16_t sw) { return static_cast<std::uint8_t>(sw >> 8); }
inline std::uint8_t sw2(std::uint16_t sw) { return static_cast<std::uint8_t>(sw); }

// 63Cx: the tries left on a PIN (0 = blocked); nullopt for any other status word.
inline std::optional<int> retries(std::uint16_t sw) {
    if ((sw & 0xFFF0) != 0x63C0) return std::nullopt;
    return sw & 0x0F;
}
// The PIN cannot be used any more: 6983, 6984, or a counter at 0.
inline bool is_blocked(std::uint16_t sw) {
    return sw == kAuthenticationBlocked || sw == kReferenceDataBlocked || retries(sw) == 0;
}
// The card does not know the command's P1-P2 form (or the file it names).
inline bool is_unknown_form(std::uint16_t sw) {
    return sw == kWrongP1P2 || sw == kWrongParameters || sw == kReferenceNotFound || sw == kFileNotFound;
}
// The card has no such application (SELECT by DF name).
inline bool is_no_application(std::uint16_t sw) {
    return sw == kFileNotFound || sw == kWrongP1P2 || sw == kInsNotSupported || sw == kClaNotSupported;
}

}  // namespace jpki::sw
