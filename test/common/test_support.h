// Helpers shared by the tests: the generated test PKI, certificates and signature checks.
#pragma once

#include "card/bytes.h"
#include "test/sim/jpki_card.h"

#include <string>

namespace jpki::test {

// Directory of simulated card `n` (1 or 2) in the generated test PKI.
std::string pki_card_dir(int n = 1);
// A card configuration for card `n` with the default PINs (auth 1234, sign SIGN1234).
sim::CardConfig card_config(int n = 1);
Bytes read_file(const std::string& path);

// DigestInfo for SHA-256 over `message`.
Bytes sha256_digest_info(const Bytes& message);
Bytes sha256(const Bytes& message);
// Verifies an RSA PKCS#1 v1.5 signature over a DigestInfo (raw, as the card signs it) with
// the public key of a DER certificate.
bool verify_pkcs1_raw(const Bytes& cert_der, const Bytes& digest_info, const Bytes& signature);
// Verifies RSASSA-PSS (MGF1-SHA256, given salt length) over a SHA-256 hash.
bool verify_pss_sha256(const Bytes& cert_der, const Bytes& hash, const Bytes& signature, int salt_len);

}  // namespace jpki::test
