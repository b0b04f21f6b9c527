// Helpers shared by the tests: the generated test PKI, certificates and signature checks.
#pragma once

#include "common/bytes.h"
#include "test/sim/jpki_card.h"

#include <string>

namespace jpki::test {

// The PINs of every simulated card: card_config gives them to the in-process cards; they are
// also the defaults of test/sim/jpki_card.h that jpki-sim uses, and AUTH_PIN and SIGN_PIN of
// test/integration/checks.sh.
inline constexpr char kAuthPin[] = "1234";
inline constexpr char kSignPin[] = "SIGN1234";
inline constexpr char kSignPinLowerCase[] = "sign1234";  // accepted: the password is case-insensitive
// Well-formed PINs that are not the card's: each try costs one of the card's tries.
inline constexpr char kWrongAuthPin[] = "9999";
inline constexpr char kWrongSignPin[] = "WRONG123";
// Malformed PINs, refused for their format before anything reaches the card. The authentication
// PIN is exactly four digits; the signature password 6 to 16 of A-Z and 0-9.
inline constexpr char kThreeDigitPin[] = "123";
inline constexpr char kFiveDigitPin[] = "12345";
inline constexpr char kPinWithLetter[] = "12a4";
inline constexpr char kPinWithSpace[] = "12 4";
inline constexpr char kSignPinWithSymbol[] = "ABC!234";
inline constexpr char kTwoLetterPin[] = "AB";
inline constexpr char kThreeLetterPin[] = "ABC";
inline constexpr char kFiveLetterPin[] = "ABCDE";
inline constexpr char kSeventeenCharPin[] = "ABCDEFGHIJ1234567";

// Directory of simulated card `n` (1 or 2) in the generated test PKI.
std::string pki_card_dir(int n = 1);
// A card configuration for card `n` with the PINs kAuthPin and kSignPin.
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

// The module's trace (JPKI_TRACE) sent to a file of its own while this lives.
class CapturedTrace {
public:
    CapturedTrace();
    ~CapturedTrace();
    CapturedTrace(const CapturedTrace&) = delete;
    CapturedTrace& operator=(const CapturedTrace&) = delete;
    // Everything traced since this was made, or since the last take().
    std::string take();

private:
    std::string path_;
    std::string previous_;
    bool had_previous_ = false;
};

}  // namespace jpki::test
