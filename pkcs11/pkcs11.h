// The PKCS#11 declarations: p11-kit's header (2.40, with the standard names), plus what it
// lacks from PKCS#11 2.40/3.0 that this module uses.
#pragma once

#include <p11-kit/pkcs11.h>

// PKCS#11 2.40 section 4.6.2: CKA_CERTIFICATE_CATEGORY values.
#ifndef CK_CERTIFICATE_CATEGORY_UNSPECIFIED
#define CK_CERTIFICATE_CATEGORY_UNSPECIFIED 0UL
#define CK_CERTIFICATE_CATEGORY_TOKEN_USER 1UL
#define CK_CERTIFICATE_CATEGORY_AUTHORITY 2UL
#define CK_CERTIFICATE_CATEGORY_OTHER_ENTITY 3UL
#endif
