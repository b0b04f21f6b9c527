// The one-token module files: jpki-pkcs11-sim-auth.so and jpki-pkcs11-sim-sign.so are the test
// builds of jpki-pkcs11-auth.so and jpki-pkcs11-sign.so (the same core, the other variant file),
// each loaded here with its own simulated readers.
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <set>
#include <string>
#include <vector>

using namespace jpki;
using namespace jpki::test;

namespace {

// One variant module, loaded for the test and finalized and cleared after it.
struct Variant {
    explicit Variant(const char* path) {
        handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        REQUIRE(handle != nullptr);
        auto get = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(handle, "C_GetFunctionList"));
        auto sim = reinterpret_cast<sim::SimReaders* (*)()>(dlsym(handle, "jpki_test_sim_readers"));
        REQUIRE((get && sim));
        REQUIRE(get(&f) == CKR_OK);
        readers = sim();
        f->C_Finalize(nullptr);
        readers->clear();
    }
    ~Variant() {
        f->C_Finalize(nullptr);
        readers->clear();
        // Left loaded: its threads and globals outlive C_Finalize on purpose.
    }
    int add_card(sim::CardConfig config) {
        const int r = readers->add_reader("Variant Reader " + std::to_string(count++));
        readers->insert(r, config);
        return r;
    }
    void* handle = nullptr;
    CK_FUNCTION_LIST_PTR f = nullptr;
    sim::SimReaders* readers = nullptr;
    int count = 0;
};

std::vector<CK_SLOT_ID> slots(CK_FUNCTION_LIST_PTR f, CK_BBOOL present) {
    CK_SLOT_ID ids[16];
    CK_ULONG n = 16;
    REQUIRE(f->C_GetSlotList(present, ids, &n) == CKR_OK);
    return {ids, ids + n};
}

std::string label(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) {
    CK_TOKEN_INFO info{};
    REQUIRE(f->C_GetTokenInfo(slot, &info) == CKR_OK);
    std::string l(reinterpret_cast<const char*>(info.label), sizeof info.label);
    return l.substr(0, l.find_last_not_of(' ') + 1);
}

std::string description(CK_FUNCTION_LIST_PTR f) {
    CK_INFO info{};
    REQUIRE(f->C_GetInfo(&info) == CKR_OK);
    std::string d(reinterpret_cast<const char*>(info.libraryDescription), sizeof info.libraryDescription);
    return d.substr(0, d.find_last_not_of(' ') + 1);
}

}  // namespace

TEST_CASE("variants: the authentication module shows one slot per reader, the authentication token only",
          "[variants]") {
    Variant v(JPKI_TEST_MODULE_AUTH);
    v.add_card(card_config(1));
    auto no_sign = card_config(2);
    no_sign.has_sign_cert = false;
    v.add_card(no_sign);
    REQUIRE(v.f->C_Initialize(nullptr) == CKR_OK);
    CHECK(description(v.f) == "JPKI My Number Card (auth)");
    CHECK(slots(v.f, CK_FALSE) == std::vector<CK_SLOT_ID>{0, 1});
    CHECK(slots(v.f, CK_TRUE) == std::vector<CK_SLOT_ID>{0, 1});
    CHECK(label(v.f, 0) == "JPKI Authentication");
    CHECK(label(v.f, 1) == "JPKI Authentication");
    CK_SESSION_HANDLE s = 0;
    REQUIRE(v.f->C_OpenSession(0, CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_OK);
    CHECK(login(v.f, s, kAuthPin) == CKR_OK);
    CHECK(find(v.f, s, CKO_PRIVATE_KEY).size() == 1);
    CHECK(attribute(v.f, s, find(v.f, s, CKO_PRIVATE_KEY)[0], CKA_LABEL) ==
          Bytes{'A', 'u', 't', 'h', 'e', 'n', 't', 'i', 'c', 'a', 't', 'i', 'o', 'n', ' ', 'K', 'e', 'y'});
    // A card that comes later: one slot, one event.
    CK_SLOT_ID event = 99;
    CHECK(v.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr) == CKR_NO_EVENT);
    v.add_card(card_config(1));
    CHECK(v.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr) == CKR_OK);
    CHECK(event == 2);
    CHECK(v.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event, nullptr) == CKR_NO_EVENT);
    CHECK(slots(v.f, CK_TRUE) == std::vector<CK_SLOT_ID>{0, 1, 2});
}

TEST_CASE("variants: the signature module shows one slot per reader, the signature token only", "[variants]") {
    Variant v(JPKI_TEST_MODULE_SIGN);
    v.add_card(card_config(1));
    auto no_sign = card_config(2);
    no_sign.has_sign_cert = false;  // a card issued under 15: its reader shows no token here
    v.add_card(no_sign);
    REQUIRE(v.f->C_Initialize(nullptr) == CKR_OK);
    CHECK(description(v.f) == "JPKI My Number Card (sign)");
    CHECK(slots(v.f, CK_FALSE) == std::vector<CK_SLOT_ID>{0, 1});
    CHECK(slots(v.f, CK_TRUE) == std::vector<CK_SLOT_ID>{0});
    CHECK(label(v.f, 0) == "JPKI Signature");
    CK_TOKEN_INFO info{};
    CHECK(v.f->C_GetTokenInfo(1, &info) == CKR_TOKEN_NOT_PRESENT);
    CK_SESSION_HANDLE s = 0;
    REQUIRE(v.f->C_OpenSession(0, CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_OK);
    // The authentication PIN is no PIN of this module's token.
    CHECK(login(v.f, s, kAuthPin) == CKR_PIN_INCORRECT);
    CHECK(v.readers->card(0)->tries_left(true) == 5);
    REQUIRE(login(v.f, s, kSignPin) == CKR_OK);
    const auto keys = find(v.f, s, CKO_PRIVATE_KEY);
    REQUIRE(keys.size() == 1);
    CK_MECHANISM m{CKM_SHA256_RSA_PKCS, nullptr, 0};
    REQUIRE(v.f->C_SignInit(s, &m, keys[0]) == CKR_OK);
    REQUIRE(login(v.f, s, kSignPin, CKU_CONTEXT_SPECIFIC) == CKR_OK);
    CK_BYTE data[3] = {1, 2, 3}, sig[256];
    CK_ULONG len = sizeof sig;
    CHECK(v.f->C_Sign(s, data, sizeof data, sig, &len) == CKR_OK);
    CHECK(len == 256);
    CHECK_FALSE(v.readers->card(0)->sign_verified());
}
