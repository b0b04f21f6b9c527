// A PIN as a caller gives it, checked for format before anything can send it. The answer for
// a malformed PIN depends on what the caller does with it: a PIN to check against the card
// (C_Login, the old PIN of C_SetPIN) is simply incorrect, as PKCS#11 lists only
// CKR_PIN_INCORRECT for C_Login and NSS and GnuTLS ask again only on that; a new PIN the card
// would refuse (C_SetPIN) is CKR_PIN_LEN_RANGE or CKR_PIN_INVALID. Either way nothing is sent,
// no try is spent, and the trace names the rule (never the PIN or its length).
#pragma once

#include "card/pin.h"
#include "pkcs11/pkcs11.h"
#include "pkcs11/token_role.h"

namespace jpki::p11 {

// A PIN to present to the card; a malformed one: CKR_PIN_INCORRECT.
Pin entered_pin(const char* function, TokenRole role, const CK_UTF8CHAR* pin, CK_ULONG len);
// A PIN to set; a malformed one: CKR_PIN_LEN_RANGE (length) or CKR_PIN_INVALID (characters).
Pin pin_to_set(const char* function, TokenRole role, const CK_UTF8CHAR* pin, CK_ULONG len);

}  // namespace jpki::p11
