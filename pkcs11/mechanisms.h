// The mechanisms, as a table: what the card's keys can do (PKCS#1 v1.5 over a DigestInfo, and
// RSASSA-PSS over a SHA-256 hash while the card's PSS mode passes its self-check), with
// hashing in software; and software digests. Which rows a token offers follows from what the
// card layer reports about its key (algorithm, size, PSS mode). Nothing else is advertised or
// accepted.
#pragma once

#include "card/jpki_profile.h"
#include "crypto/digest.h"
#include "pkcs11/pkcs11.h"

#include <optional>
#include <vector>

namespace jpki::p11 {

enum class MechFamily {
    RsaPkcs,      // caller gives a DigestInfo or raw data (<= k-11 bytes)
    HashRsaPkcs,  // hash in software, DigestInfo built here, card pads
    RsaPss,       // caller gives a SHA-256 hash
    HashRsaPss,   // SHA-256 in software, card signs PSS
    Digest,       // software digest only
};

struct Mechanism {
    CK_MECHANISM_TYPE type;
    MechFamily family;
    std::optional<crypto::HashAlg> hash;
};

// Whether the card's PSS mode may be used for a card (it may until it failed once).
enum class PssTrust { Trusted, GivenUp };

// The mechanism, if this module knows it at all (PSS ones even when a card lacks PSS).
const Mechanism* find_mechanism(CK_MECHANISM_TYPE type);
bool is_pss(const Mechanism& m);
// Signature mechanisms a key can use on its card (for CKA_ALLOWED_MECHANISMS).
std::vector<CK_MECHANISM_TYPE> signature_mechanisms(const KeyInfo& key, PssTrust pss);
// Everything a token lists in C_GetMechanismList.
std::vector<CK_MECHANISM_TYPE> token_mechanisms(const KeyInfo& key, PssTrust pss);
// Checks CK_RSA_PKCS_PSS_PARAMS: SHA-256, MGF1-SHA256, salt 32 is all the card does.
// Throws CKR_MECHANISM_PARAM_INVALID.
void check_pss_params(const CK_MECHANISM& mechanism);

// The card's PSS mode: SHA-256, MGF1-SHA256, a salt as long as the hash (what TLS needs).
constexpr crypto::HashAlg kPssHash = crypto::HashAlg::Sha256;
constexpr int kPssSaltLength = 32;

}  // namespace jpki::p11
