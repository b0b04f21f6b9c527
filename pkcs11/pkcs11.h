// The PKCS#11 2.40 declarations (p11-kit's header, with the standard names).
#pragma once

#include <p11-kit/pkcs11.h>
