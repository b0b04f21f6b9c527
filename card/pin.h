// PINs of the JPKI application, checked for format before anything can send them.
// A Pin can only be built through Pin::parse, so every Pin in memory has a format the card
// accepts; its bytes live in a SecureBuffer that is wiped when the Pin goes away.
#pragma once

#include "common/secure_buffer.h"

#include <cstddef>
#include <cstdint>

namespace jpki {

// IEF 0018: user-authentication PIN, exactly 4 digits, 3 tries.
// IEF 001B: digital-signature password, 6-16 of A-Z 0-9, 5 tries.
enum class PinRef { Auth, Sign };

struct PinRules {
    std::size_t min_length;
    std::size_t max_length;
    int max_tries;
};
PinRules pin_rules(PinRef ref) noexcept;

class Pin {
public:
    // Checks length (CardErrc::PinLength) then characters (CardErrc::PinCharacters); folds
    // a-z to A-Z for the signature password, as the card only knows upper case.
    static Pin parse(PinRef ref, const std::uint8_t* text, std::size_t len);
    static Pin parse(PinRef ref, const char* text);

    PinRef ref() const noexcept { return ref_; }
    const SecureBuffer& bytes() const noexcept { return bytes_; }
    // An explicit copy (the token keeps one while logged in).
    Pin clone() const;

private:
    Pin(PinRef ref) : ref_(ref) {}
    PinRef ref_;
    SecureBuffer bytes_;
};

}  // namespace jpki
