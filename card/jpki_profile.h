// What the module knows of the JPKI application of today's My Number Card, in one place: its
// AID, files, PINs and keys (../shared/jpki-card.md). The next card generation (ECDSA P-384,
// merged applications; announced for FY2028) is meant to be a new profile, not edits across
// the layers above.
#pragma once

#include "card/pin.h"
#include "common/bytes.h"

#include <cstddef>
#include <cstdint>

namespace jpki {

enum class KeyRef { Auth, Sign };  // IEF 0017 / 001A

enum class CertFile : std::uint16_t {
    SignCert = 0x0001,  // needs the signature password verified
    SignCa = 0x0002,
    AuthCert = 0x000A,
    AuthCa = 0x000B,
};

enum class KeyAlgorithm { Rsa };

// One private key on the card and what goes with it.
struct KeyInfo {
    KeyRef ref;
    PinRef pin;                    // the PIN that unlocks it
    std::uint16_t key_ef;          // its IEF
    CertFile certificate;          // its certificate
    bool certificate_needs_pin;    // the certificate can be read only after the PIN
    CertFile ca_certificate;       // the certificate of its issuer
    KeyAlgorithm algorithm;
    unsigned bits;
    std::size_t signature_size;    // bytes
    bool pss_mode;                 // the card's PSS mode (P1=04 over a SHA-256 hash); single-source
    bool pin_each_signature;       // the legally binding key: a PIN for every signature
};

namespace profile {

// D3 92 F0 00 26 01 00 00 00 01
const Bytes& jpki_aid();
constexpr std::uint16_t kEfTokenInfo = 0x0006;
constexpr std::size_t kTokenInfoSize = 160;  // a CK_TOKEN_INFO, big-endian ULONGs
constexpr std::uint16_t kEfCertAvailability = 0x0008;
constexpr std::uint8_t kCertPresent = 0x8F;
constexpr std::uint8_t kCertAbsent = 0x00;  // e.g. the signature certificate of a card issued under 15
constexpr std::uint32_t kMaxFileOffset = 0x7FFF;  // READ BINARY offsets are 15 bits

std::uint16_t pin_ef(PinRef ref);  // 0018 / 001B
const char* pin_name(PinRef ref);
const KeyInfo& key(KeyRef ref);
KeyRef key_of(PinRef ref);  // the key a PIN unlocks

}  // namespace profile
}  // namespace jpki
