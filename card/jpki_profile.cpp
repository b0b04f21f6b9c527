#include "card/jpki_profile.h"

#include <stdexcept>

namespace jpki::profile {

namespace {
const KeyInfo kKeys[] = {
    {KeyRef::Auth, PinRef::Auth, 0x0017, CertFile::AuthCert, false, CertFile::AuthCa, KeyAlgorithm::Rsa, 2048, 256,
     true, false},
    {KeyRef::Sign, PinRef::Sign, 0x001A, CertFile::SignCert, true, CertFile::SignCa, KeyAlgorithm::Rsa, 2048, 256,
     true, true},
};
}  // namespace

const Bytes& jpki_aid() {
    static const Bytes aid = {0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01};
    return aid;
}

std::uint16_t pin_ef(PinRef ref) { return ref == PinRef::Auth ? 0x0018 : 0x001B; }

const char* pin_name(PinRef ref) { return ref == PinRef::Auth ? "auth PIN" : "sign PIN"; }

const KeyInfo& key(KeyRef ref) { return kKeys[ref == KeyRef::Auth ? 0 : 1]; }

KeyRef key_of(PinRef ref) {
    for (const KeyInfo& k : kKeys)
        if (k.pin == ref) return k.ref;
    throw std::logic_error("no key for this PIN");
}

}  // namespace jpki::profile
