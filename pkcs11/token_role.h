// The two tokens of a card, and the card's PIN and key behind each.
#pragma once

#include "card/jpki_profile.h"

namespace jpki::p11 {

enum class TokenRole { Auth = 0, Sign = 1 };
inline PinRef pin_of(TokenRole r) { return r == TokenRole::Auth ? PinRef::Auth : PinRef::Sign; }
inline KeyRef key_of(TokenRole r) { return r == TokenRole::Auth ? KeyRef::Auth : KeyRef::Sign; }

}  // namespace jpki::p11
