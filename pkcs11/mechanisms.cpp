#include "pkcs11/mechanisms.h"

#include "pkcs11/pkcs11_error.h"

namespace jpki::p11 {

namespace {
using crypto::HashAlg;

const Mechanism kMechanisms[] = {
    {CKM_RSA_PKCS, MechFamily::RsaPkcs, std::nullopt},
    {CKM_SHA1_RSA_PKCS, MechFamily::HashRsaPkcs, HashAlg::Sha1},
    {CKM_SHA224_RSA_PKCS, MechFamily::HashRsaPkcs, HashAlg::Sha224},
    {CKM_SHA256_RSA_PKCS, MechFamily::HashRsaPkcs, HashAlg::Sha256},
    {CKM_SHA384_RSA_PKCS, MechFamily::HashRsaPkcs, HashAlg::Sha384},
    {CKM_SHA512_RSA_PKCS, MechFamily::HashRsaPkcs, HashAlg::Sha512},
    {CKM_RSA_PKCS_PSS, MechFamily::RsaPss, HashAlg::Sha256},
    {CKM_SHA256_RSA_PKCS_PSS, MechFamily::HashRsaPss, HashAlg::Sha256},
    {CKM_SHA_1, MechFamily::Digest, HashAlg::Sha1},
    {CKM_SHA224, MechFamily::Digest, HashAlg::Sha224},
    {CKM_SHA256, MechFamily::Digest, HashAlg::Sha256},
    {CKM_SHA384, MechFamily::Digest, HashAlg::Sha384},
    {CKM_SHA512, MechFamily::Digest, HashAlg::Sha512},
};

// Whether a key on its card can make signatures of this mechanism.
bool key_can(const KeyInfo& key, PssTrust pss, const Mechanism& m) {
    if (m.family == MechFamily::Digest) return false;
    if (key.algorithm != KeyAlgorithm::Rsa) return false;  // every signature row is RSA
    return !is_pss(m) || (key.pss_mode && pss == PssTrust::Trusted);
}
}  // namespace

const Mechanism* find_mechanism(CK_MECHANISM_TYPE type) {
    for (const Mechanism& m : kMechanisms)
        if (m.type == type) return &m;
    return nullptr;
}

bool is_pss(const Mechanism& m) { return m.family == MechFamily::RsaPss || m.family == MechFamily::HashRsaPss; }

std::vector<CK_MECHANISM_TYPE> signature_mechanisms(const KeyInfo& key, PssTrust pss) {
    std::vector<CK_MECHANISM_TYPE> out;
    for (const Mechanism& m : kMechanisms)
        if (key_can(key, pss, m)) out.push_back(m.type);
    return out;
}

std::vector<CK_MECHANISM_TYPE> token_mechanisms(const KeyInfo& key, PssTrust pss) {
    std::vector<CK_MECHANISM_TYPE> out;
    for (const Mechanism& m : kMechanisms)
        if (m.family == MechFamily::Digest || key_can(key, pss, m)) out.push_back(m.type);
    return out;
}

void check_pss_params(const CK_MECHANISM& mechanism) {
    if (!mechanism.pParameter || mechanism.ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
        fail(CKR_MECHANISM_PARAM_INVALID);
    const auto* p = static_cast<const CK_RSA_PKCS_PSS_PARAMS*>(mechanism.pParameter);
    if (p->hashAlg != CKM_SHA256 || p->mgf != CKG_MGF1_SHA256 || p->sLen != static_cast<CK_ULONG>(kPssSaltLength))
        fail(CKR_MECHANISM_PARAM_INVALID);
}

}  // namespace jpki::p11
