#include "card/pin.h"

#include "card/card_error.h"

#include <cstring>

namespace jpki {

PinRules pin_rules(PinRef ref) noexcept {
    return ref == PinRef::Auth ? PinRules{4, 4, 3} : PinRules{6, 16, 5};
}

Pin Pin::parse(PinRef ref, const std::uint8_t* text, std::size_t len) {
    const PinRules rules = pin_rules(ref);
    if (!text || len < rules.min_length || len > rules.max_length)
        throw CardError(CardErrc::PinLength, "PIN not sent");
    Pin pin(ref);
    for (std::size_t i = 0; i < len; ++i) {
        std::uint8_t c = text[i];
        const bool digit = c >= '0' && c <= '9';
        if (ref == PinRef::Sign && c >= 'a' && c <= 'z') c = static_cast<std::uint8_t>(c - 'a' + 'A');
        const bool upper = c >= 'A' && c <= 'Z';
        if (!(digit || (ref == PinRef::Sign && upper))) {
            c = 0;
            throw CardError(CardErrc::PinCharacters, "PIN not sent");
        }
        pin.bytes_.push_back(c);
        c = 0;
    }
    return pin;
}

Pin Pin::parse(PinRef ref, const char* text) {
    return parse(ref, reinterpret_cast<const std::uint8_t*>(text), text ? std::strlen(text) : 0);
}

Pin Pin::clone() const {
    Pin copy(ref_);
    copy.bytes_.append(bytes_.data(), bytes_.size());
    return copy;
}

}  // namespace jpki
