#include "test/sim/card_variants.h"

namespace jpki::sim {

const std::vector<CardVariant>& card_variants() {
    static const std::vector<CardVariant> kVariants = {
        {"ef0006-absent", "no token-info EF 0006 (SELECT 6A82)", [](CardConfig& c) { c.token_info_file = FileVariant::Absent; }},
        {"ef0006-short", "EF 0006 of 40 bytes, not 160", [](CardConfig& c) { c.token_info_file = FileVariant::Short; }},
        {"ef0006-zeros", "EF 0006 all zeros", [](CardConfig& c) { c.token_info_file = FileVariant::Zeros; }},
        {"ef0006-garbage", "EF 0006 of unprintable bytes", [](CardConfig& c) { c.token_info_file = FileVariant::Garbage; }},
        {"ef0008-absent", "no certificate-availability EF 0008", [](CardConfig& c) { c.availability_file = FileVariant::Absent; }},
        {"ef0008-short", "EF 0008 of 1 byte", [](CardConfig& c) { c.availability_file = FileVariant::Short; }},
        {"ef0008-bits", "EF 0008 = 8E 0F 01 (neither 8F nor 00)", [](CardConfig& c) { c.availability_file = FileVariant::UnexpectedBits; }},
        {"auth-cert-der-length", "auth certificate EF whose DER length exceeds the file",
         [](CardConfig& c) { c.auth_cert_file = FileVariant::BadDerLength; }},
        {"auth-cert-garbage", "auth certificate EF that holds no certificate",
         [](CardConfig& c) { c.auth_cert_file = FileVariant::Garbage; }},
        {"auth-cert-not-x509", "auth certificate EF: a DER SEQUENCE of the right length, no certificate",
         [](CardConfig& c) { c.auth_cert_file = FileVariant::NotCertificate; }},
        {"ca-absent", "no CA certificate EFs (0002, 000B)", [](CardConfig& c) { c.ca_files_absent = true; }},
        {"verify-9000", "empty VERIFY answers 9000 while the PIN is verified",
         [](CardConfig& c) { c.empty_verify_ok_when_verified = true; }},
        {"verify-6300", "empty VERIFY answers 6300 (no counter)", [](CardConfig& c) { c.empty_verify_sw = 0x6300; }},
        {"verify-6983", "empty VERIFY answers 6983 (blocked)", [](CardConfig& c) { c.empty_verify_sw = 0x6983; }},
        {"verify-6984", "empty VERIFY answers 6984 (blocked)", [](CardConfig& c) { c.empty_verify_sw = 0x6984; }},
        {"verify-6a86", "empty VERIFY not supported in either form (6A86)", [](CardConfig& c) { c.empty_verify_sw = 0x6A86; }},
        {"select-fci", "SELECT answers FCI data even when none was asked for", [](CardConfig& c) { c.select_with_fci = true; }},
        {"select-61xx", "SELECT answers 61xx (FCI waiting for GET RESPONSE)", [](CardConfig& c) { c.select_61xx = true; }},
        {"read-6282", "READ BINARY answers 6282 when the file ends before Le", [](CardConfig& c) { c.read_end_6282 = true; }},
    };
    return kVariants;
}

bool apply_card_variant(CardConfig& config, const std::string& name) {
    for (const CardVariant& v : card_variants()) {
        if (name == v.name) {
            v.apply(config);
            return true;
        }
    }
    return false;
}

}  // namespace jpki::sim
