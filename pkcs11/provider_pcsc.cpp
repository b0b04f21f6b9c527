// The shipped module reaches cards through pcsc-lite.
#include "pkcs11/module.h"

namespace jpki::p11 {

std::unique_ptr<ReaderProvider> make_reader_provider() { return make_pcsc_reader_provider(); }

}  // namespace jpki::p11
