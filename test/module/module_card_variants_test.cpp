// Cards that differ from the documents (test/sim/card_variants.cpp), through the module: each
// shows both tokens, signs where the card can, spends no try, is left locked, and where
// something cannot work says so with one CKR_ and a trace line.
#include "test/module/module_fixture.h"
#include "test/sim/card_variants.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

using namespace jpki;
using namespace jpki::test;

namespace {

enum class Expect {
    Works,        // both keys sign
    NoAuthKey,    // the auth certificate is unusable: no auth key object, the signature key signs
    NoCounter,    // C_Login refused without a PIN sent: CKR_DEVICE_ERROR
    Locked,       // the card says both PINs are blocked: CKR_PIN_LOCKED without a PIN sent
};

struct Row {
    const char* variant;
    Expect expect;
    const char* trace;  // a trace line says why (empty: nothing to say)
};

const Row kRows[] = {
    {"ef0006-absent", Expect::Works, "EF 0006 (token info) unusable"},
    {"ef0006-short", Expect::Works, ""},
    {"ef0006-zeros", Expect::Works, ""},
    {"ef0006-garbage", Expect::Works, "is not one: not used"},
    {"ef0008-absent", Expect::Works, "EF 0008 (certificates present) unusable"},
    {"ef0008-short", Expect::Works, "EF 0008 (certificates present) unusable"},
    {"ef0008-bits", Expect::Works, "EF 0008 has unexpected values"},
    {"auth-cert-der-length", Expect::NoAuthKey, "authentication certificate EF 000A unusable"},
    {"auth-cert-garbage", Expect::NoAuthKey, "authentication certificate EF 000A unusable"},
    {"auth-cert-not-x509", Expect::NoAuthKey, "left out, with the objects that need it"},
    {"ca-absent", Expect::Works, "CA certificate unreadable"},
    {"verify-9000", Expect::Works, ""},
    {"verify-6300", Expect::NoCounter, "unreadable, so no PIN is sent"},
    {"verify-6a86", Expect::NoCounter, "unreadable, so no PIN is sent"},
    {"verify-6983", Expect::Locked, ""},
    {"verify-6984", Expect::Locked, ""},
    {"select-fci", Expect::Works, ""},
    {"select-61xx", Expect::Works, ""},
    {"read-6282", Expect::Works, ""},
};

CK_OBJECT_HANDLE only_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, std::size_t expected) {
    const auto keys = find(f, s, CKO_PRIVATE_KEY);
    REQUIRE(keys.size() == expected);
    return expected ? keys[0] : CK_INVALID_HANDLE;
}

// A SHA256-RSA-PKCS signature with the token's key, checked by the module's own C_Verify with
// the certificate's public key.
void signs_and_verifies(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const char* context_pin) {
    CK_MECHANISM m{CKM_SHA256_RSA_PKCS, nullptr, 0};
    const std::string message = "a card variant";
    Bytes data(message.begin(), message.end());
    REQUIRE(f->C_SignInit(s, &m, key) == CKR_OK);
    if (context_pin) REQUIRE(login(f, s, context_pin, CKU_CONTEXT_SPECIFIC) == CKR_OK);
    Bytes sig(256);
    CK_ULONG len = sig.size();
    REQUIRE(f->C_Sign(s, data.data(), data.size(), sig.data(), &len) == CKR_OK);
    REQUIRE(len == 256);
    const auto pubs = find(f, s, CKO_PUBLIC_KEY);
    REQUIRE(pubs.size() == 1);
    REQUIRE(f->C_VerifyInit(s, &m, pubs[0]) == CKR_OK);
    CHECK(f->C_Verify(s, data.data(), data.size(), sig.data(), len) == CKR_OK);
}

}  // namespace

TEST_CASE("module: card variants: every variant shows both tokens, signs where it can, spends no try, stays locked",
          "[variants]") {
    for (const Row& row : kRows) {
        DYNAMIC_SECTION(row.variant) {
            sim::CardConfig config = card_config(1);
            REQUIRE(sim::apply_card_variant(config, row.variant));
            CapturedTrace trace;
            OneCard c(config);  // REQUIREs both tokens
            const SentToCard sent(*c.card);
            const CK_TOKEN_INFO auth = token_info(c.f, c.slots[0]);
            const CK_TOKEN_INFO sign = token_info(c.f, c.slots[1]);
            CHECK(std::string(reinterpret_cast<const char*>(auth.label), 19) == "JPKI Authentication");
            CHECK(std::memcmp(auth.serialNumber, sign.serialNumber, sizeof auth.serialNumber) == 0);
            const bool locked = row.expect == Expect::Locked;
            CHECK(((auth.flags & CKF_USER_PIN_LOCKED) != 0) == locked);
            CHECK(((sign.flags & CKF_USER_PIN_LOCKED) != 0) == locked);

            switch (row.expect) {
            case Expect::Works:
            case Expect::NoAuthKey: {
                const CK_SESSION_HANDLE a = c.logged_in_auth_session();
                if (row.expect == Expect::Works) signs_and_verifies(c.f, a, only_key(c.f, a, 1), nullptr);
                else only_key(c.f, a, 0);
                const CK_SESSION_HANDLE s = c.logged_in_sign_session();
                signs_and_verifies(c.f, s, only_key(c.f, s, 1), kSignPin);
                CHECK(sent.pins() >= 2);
                break;
            }
            case Expect::NoCounter:
            case Expect::Locked: {
                const CK_RV want = row.expect == Expect::Locked ? CKR_PIN_LOCKED : CKR_DEVICE_ERROR;
                CHECK(login(c.f, c.auth_session(), kAuthPin) == want);
                CHECK(login(c.f, c.sign_session(), kSignPin) == want);
                CHECK(sent.pins() == 0);
                break;
            }
            }
            // No try spent, nothing left verified on the card.
            CHECK(c.card->tries_left(false) == 3);
            CHECK(c.card->tries_left(true) == 5);
            CHECK_FALSE(c.card->auth_verified());
            CHECK_FALSE(c.card->sign_verified());
            if (*row.trace) CHECK_THAT(trace.take(), Catch::Contains(row.trace));
        }
    }
}

TEST_CASE("module: card variants: a card without EF 0006 shows the serial derived from its certificate", "[variants]") {
    auto serial_of = [](sim::CardConfig config) {
        OneCard c(std::move(config));
        const CK_TOKEN_INFO info = token_info(c.f, c.slots[0]);
        return std::string(reinterpret_cast<const char*>(info.serialNumber), sizeof info.serialNumber);
    };
    sim::CardConfig config = card_config(1);
    REQUIRE(sim::apply_card_variant(config, "ef0006-absent"));
    const std::string derived = serial_of(config);
    CHECK(derived.find_first_not_of("0123456789ABCDEF") == std::string::npos);  // 16 hex digits, not blank
    CHECK(derived != serial_of(card_config(1)));  // with EF 0006: the card's own serial
}

TEST_CASE("module: card variants: a CA certificate EF the card lacks leaves the CA object out only", "[variants]") {
    sim::CardConfig config = card_config(1);
    REQUIRE(sim::apply_card_variant(config, "ca-absent"));
    OneCard c(config);
    const CK_SESSION_HANDLE s = c.auth_session();
    CHECK(find(c.f, s, CKO_CERTIFICATE).size() == 1);  // the authentication certificate, no CA
}
