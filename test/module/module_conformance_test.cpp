// What peer conformance suites (OpenSC's p11test, gtest-based API suites) and the newest
// clients expect beyond the everyday paths: slot events since C_Initialize only, arguments
// checked before state, PSS parameters, the PKCS#11 3.0 interfaces.
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstddef>
#include <functional>
#include <set>
#include <string>

using namespace jpki;
using namespace jpki::test;

namespace {

std::set<CK_SLOT_ID> as_set(const std::vector<CK_SLOT_ID>& v) { return {v.begin(), v.end()}; }

}  // namespace

// --- slot events ------------------------------------------------------------------------------

TEST_CASE("conformance: the cards present at C_Initialize are no slot events; later changes are one per slot",
          "[conformance]") {
    ModuleWorld w;
    w.add_card(1);
    const int empty = w.add_empty_reader();
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CK_SLOT_ID slot = 12345;
    // Right after C_Initialize, before any other call.
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr) == CKR_NO_EVENT);
    CHECK(slot == 12345);
    CK_ULONG n = 0;
    REQUIRE(w.f->C_GetSlotList(CK_FALSE, nullptr, &n) == CKR_OK);
    CHECK(n == 4);
    CHECK(drain_events(w.f).empty());  // listing and identifying the card is no event either

    w.readers.insert(empty, card_config(2));
    CHECK(as_set(drain_events(w.f)) == std::set<CK_SLOT_ID>{2, 3});  // both tokens' slots, once each
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr) == CKR_NO_EVENT);

    w.readers.remove(0);
    CHECK(as_set(drain_events(w.f)) == std::set<CK_SLOT_ID>{0, 1});
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr) == CKR_NO_EVENT);

    // A new reader with a card after C_Initialize: its slots are events.
    w.add_card(1);
    CHECK(as_set(drain_events(w.f)) == std::set<CK_SLOT_ID>{4, 5});

    // A fresh C_Initialize starts from what is there then.
    REQUIRE(w.f->C_Finalize(nullptr) == CKR_OK);
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr) == CKR_NO_EVENT);
}

// --- PKCS#11 3.0 interfaces -----------------------------------------------------------------

namespace {

using GetInterfaceList = CK_RV (*)(CK_INTERFACE_PTR, CK_ULONG_PTR);
using GetInterface = CK_RV (*)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, CK_INTERFACE_PTR_PTR, CK_FLAGS);

template <typename F>
F exported(const char* name) {
    void* sym = dlsym(module_handle(), name);
    REQUIRE(sym != nullptr);
    return reinterpret_cast<F>(sym);
}

CK_UTF8CHAR_PTR utf8_name(const char* s) { return reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(s)); }

const CK_VERSION& version_of(const CK_INTERFACE& i) { return *static_cast<const CK_VERSION*>(i.pFunctionList); }

CK_FUNCTION_LIST_3_0* default_interface() {
    CK_INTERFACE_PTR i = nullptr;
    REQUIRE(exported<GetInterface>("C_GetInterface")(nullptr, nullptr, &i, 0) == CKR_OK);
    REQUIRE(i != nullptr);
    return static_cast<CK_FUNCTION_LIST_3_0*>(i->pFunctionList);
}

}  // namespace

TEST_CASE("conformance: C_GetInterfaceList offers PKCS 11 3.0 first, then the 2.40 list", "[conformance]") {
    ModuleWorld w;  // not initialised: neither function needs C_Initialize
    auto list = exported<GetInterfaceList>("C_GetInterfaceList");
    CHECK(list(nullptr, nullptr) == CKR_ARGUMENTS_BAD);
    CK_ULONG n = 0;
    REQUIRE(list(nullptr, &n) == CKR_OK);
    REQUIRE(n == 2);
    CK_INTERFACE got[3] = {};
    CK_ULONG small = 1;
    CHECK(list(got, &small) == CKR_BUFFER_TOO_SMALL);
    CHECK(small == 2);
    n = 3;
    REQUIRE(list(got, &n) == CKR_OK);
    REQUIRE(n == 2);
    CK_FUNCTION_LIST_PTR v2 = nullptr;
    REQUIRE(w.f->C_GetFunctionList(&v2) == CKR_OK);
    for (const CK_INTERFACE& i : {got[0], got[1]}) {
        CHECK(std::string(reinterpret_cast<const char*>(i.pInterfaceName)) == "PKCS 11");
        CHECK(i.flags == 0);  // not fork-safe: a child process initialises the module again
    }
    CHECK(version_of(got[0]).major == 3);
    CHECK(version_of(got[0]).minor == 0);
    CHECK(version_of(got[1]).major == 2);
    CHECK(version_of(got[1]).minor == 40);
    CHECK(got[1].pFunctionList == v2);  // the very list C_GetFunctionList gives
}

TEST_CASE("conformance: C_GetInterface finds by name, version and flags, and never answers CKR_OK without one",
          "[conformance]") {
    ModuleWorld w;
    auto get = exported<GetInterface>("C_GetInterface");
    CK_INTERFACE listed[2];
    CK_ULONG n = 2;
    REQUIRE(exported<GetInterfaceList>("C_GetInterfaceList")(listed, &n) == CKR_OK);
    CK_INTERFACE_PTR i = nullptr;
    REQUIRE(get(nullptr, nullptr, &i, 0) == CKR_OK);  // the default: 3.0
    REQUIRE(i != nullptr);
    CHECK(i->pFunctionList == listed[0].pFunctionList);
    CK_VERSION v30{3, 0}, v240{2, 40}, v220{2, 20}, v450{4, 50};
    i = nullptr;
    REQUIRE(get(utf8_name("PKCS 11"), &v30, &i, 0) == CKR_OK);
    CHECK(i->pFunctionList == listed[0].pFunctionList);
    i = nullptr;
    REQUIRE(get(utf8_name("PKCS 11"), &v240, &i, 0) == CKR_OK);
    CHECK(i->pFunctionList == listed[1].pFunctionList);
    i = nullptr;
    REQUIRE(get(utf8_name("PKCS 11"), nullptr, &i, 0) == CKR_OK);
    CHECK(i->pFunctionList == listed[0].pFunctionList);
    struct Refused {
        const char* what;
        CK_UTF8CHAR_PTR name;
        CK_VERSION_PTR version;
        CK_FLAGS flags;
    };
    const Refused refused[] = {
        {"an unknown name", utf8_name("PKCS 11 other"), nullptr, 0},
        {"a vendor name", utf8_name("Vendor ACME"), nullptr, 0},
        {"version 2.20", utf8_name("PKCS 11"), &v220, 0},
        {"version 4.50", utf8_name("PKCS 11"), &v450, 0},
        {"an unknown flag", utf8_name("PKCS 11"), nullptr, 2},
        {"fork safety, which neither interface has", nullptr, nullptr, CKF_INTERFACE_FORK_SAFE},
    };
    for (const Refused& r : refused) {
        INFO(r.what);
        CK_INTERFACE_PTR untouched = &listed[1];
        CHECK(get(r.name, r.version, &untouched, r.flags) == CKR_ARGUMENTS_BAD);
        CHECK(untouched == &listed[1]);
    }
    CHECK(get(nullptr, nullptr, nullptr, 0) == CKR_ARGUMENTS_BAD);
}

TEST_CASE("conformance: the 3.0 list holds every 2.40 function, says 3.0, and refuses what it cannot do",
          "[conformance]") {
    OneCard c;
    CK_FUNCTION_LIST_3_0* f3 = default_interface();
    CK_FUNCTION_LIST_PTR f2 = c.f;
    // The 2.40 functions but C_GetInfo are the same pointers in both lists.
    const auto* p2 = reinterpret_cast<void* const*>(&f2->C_Initialize);
    const auto* p3 = reinterpret_cast<void* const*>(&f3->C_Initialize);
    constexpr std::size_t kFunctions240 = (sizeof(CK_FUNCTION_LIST) - offsetof(CK_FUNCTION_LIST, C_Initialize)) / sizeof(void*);
    REQUIRE(kFunctions240 == 68);
    for (std::size_t k = 0; k < kFunctions240; ++k) {
        INFO("function " << k);
        REQUIRE(p3[k] != nullptr);
        if (&p3[k] != reinterpret_cast<void* const*>(&f3->C_GetInfo)) CHECK(p3[k] == p2[k]);
    }
    constexpr std::size_t kAll = (sizeof(CK_FUNCTION_LIST_3_0) - offsetof(CK_FUNCTION_LIST_3_0, C_Initialize)) / sizeof(void*);
    REQUIRE(kAll == 92);
    for (std::size_t k = kFunctions240; k < kAll; ++k) {
        INFO("function " << k);
        CHECK(p3[k] != nullptr);
    }
    CK_INFO info{};
    REQUIRE(f3->C_GetInfo(&info) == CKR_OK);
    CHECK(info.cryptokiVersion.major == 3);
    CHECK(info.cryptokiVersion.minor == 0);
    REQUIRE(f2->C_GetInfo(&info) == CKR_OK);
    CHECK(info.cryptokiVersion.major == 2);
    CHECK(info.cryptokiVersion.minor == 40);

    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    CK_MECHANISM m{CKM_SHA256_RSA_PKCS, nullptr, 0};
    CK_BYTE data[4] = {1, 2, 3, 4};
    CK_BYTE sig[512];
    CK_ULONG sig_len = sizeof sig;
    CK_BYTE pin[] = {'1', '2', '3', '4'};
    CHECK(f3->C_LoginUser(s, CKU_USER, pin, 4, utf8_name("user"), 4) == CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(f3->C_SessionCancel(s, CKF_SIGN) == CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(f3->C_MessageSignInit(s, &m, 0) == CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(f3->C_SignMessage(s, nullptr, 0, data, 4, sig, &sig_len) == CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(f3->C_MessageEncryptInit(s, &m, 0) == CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(f3->C_DecryptMessage(s, nullptr, 0, nullptr, 0, data, 4, sig, &sig_len) == CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(f3->C_VerifyMessageNext(s, nullptr, 0, data, 4, sig, 256) == CKR_FUNCTION_NOT_SUPPORTED);
    CHECK(f3->C_MessageVerifyFinal(s) == CKR_FUNCTION_NOT_SUPPORTED);
    // And a signature through the 3.0 list, as NSS makes one.
    const auto keys = find(c.f, s, CKO_PRIVATE_KEY);
    REQUIRE(keys.size() == 1);
    REQUIRE(f3->C_SignInit(s, &m, keys[0]) == CKR_OK);
    REQUIRE(f3->C_Sign(s, data, sizeof data, sig, &sig_len) == CKR_OK);
    CHECK(sig_len == 256);
}

// --- arguments before state -------------------------------------------------------------------

namespace {

// One function called three ways: with bad arguments, and with good ones on a bad and on a
// good session (`h`); `well_formed` is what it answers then.
struct ArgCase {
    const char* name;
    std::function<CK_RV(CK_SESSION_HANDLE)> bad_args;
    std::function<CK_RV(CK_SESSION_HANDLE)> good_args;
    CK_RV well_formed;
};

}  // namespace

TEST_CASE("conformance: arguments are checked before the session and the token, in every function",
          "[conformance]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    const CK_SESSION_HANDLE good = c.logged_in_auth_session();
    const CK_SESSION_HANDLE bad = good + 1000;
    const auto objects = find(f, good, ~0UL);
    REQUIRE_FALSE(objects.empty());
    const CK_OBJECT_HANDLE obj = objects[0];
    CK_BYTE buf[512] = {};
    CK_ULONG len = sizeof buf;
    CK_OBJECT_HANDLE out = CK_INVALID_HANDLE, out2 = CK_INVALID_HANDLE;
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048, key_len = 32;
    CK_ATTRIBUTE t{CKA_SIGN, &yes, sizeof yes};
    CK_ATTRIBUTE bits_t{CKA_MODULUS_BITS, &bits, sizeof bits};
    CK_ATTRIBUTE len_t{CKA_VALUE_LEN, &key_len, sizeof key_len};
    CK_MECHANISM rsa_gen{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    CK_MECHANISM aes_gen{CKM_AES_KEY_GEN, nullptr, 0};
    CK_MECHANISM sha256{CKM_SHA256, nullptr, 0};
    CK_MECHANISM oaep{CKM_RSA_PKCS_OAEP, nullptr, 0};
    std::string label(32, ' ');
    const ArgCase cases[] = {
        {"C_SeedRandom", [&](CK_SESSION_HANDLE h) { return f->C_SeedRandom(h, nullptr, 1); },
         [&](CK_SESSION_HANDLE h) { return f->C_SeedRandom(h, buf, 16); }, CKR_RANDOM_NO_RNG},
        {"C_GenerateRandom", [&](CK_SESSION_HANDLE h) { return f->C_GenerateRandom(h, nullptr, 1); },
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateRandom(h, buf, 16); }, CKR_RANDOM_NO_RNG},
        {"C_GenerateKey, NULL mechanism", [&](CK_SESSION_HANDLE h) { return f->C_GenerateKey(h, nullptr, &len_t, 1, &out); },
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKey(h, &aes_gen, &len_t, 1, &out); }, CKR_TOKEN_WRITE_PROTECTED},
        {"C_GenerateKey, NULL template", [&](CK_SESSION_HANDLE h) { return f->C_GenerateKey(h, &aes_gen, nullptr, 1, &out); },
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKey(h, &aes_gen, &len_t, 1, &out); }, CKR_TOKEN_WRITE_PROTECTED},
        {"C_GenerateKey, NULL handle", [&](CK_SESSION_HANDLE h) { return f->C_GenerateKey(h, &aes_gen, &len_t, 1, nullptr); },
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKey(h, &sha256, &len_t, 1, &out); }, CKR_MECHANISM_INVALID},
        {"C_GenerateKeyPair, NULL mechanism",
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKeyPair(h, nullptr, &bits_t, 1, &t, 1, &out, &out2); },
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKeyPair(h, &rsa_gen, &bits_t, 1, &t, 1, &out, &out2); },
         CKR_TOKEN_WRITE_PROTECTED},
        {"C_GenerateKeyPair, NULL templates",
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKeyPair(h, &rsa_gen, nullptr, 4, nullptr, 2, &out, &out2); },
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKeyPair(h, &aes_gen, &bits_t, 1, &t, 1, &out, &out2); },
         CKR_MECHANISM_INVALID},
        {"C_GenerateKeyPair, NULL handles",
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKeyPair(h, &rsa_gen, &bits_t, 1, &t, 1, nullptr, &out2); },
         [&](CK_SESSION_HANDLE h) { return f->C_GenerateKeyPair(h, &rsa_gen, &bits_t, 1, &t, 1, &out, &out2); },
         CKR_TOKEN_WRITE_PROTECTED},
        {"C_CreateObject", [&](CK_SESSION_HANDLE h) { return f->C_CreateObject(h, nullptr, 1, &out); },
         [&](CK_SESSION_HANDLE h) { return f->C_CreateObject(h, &t, 1, &out); }, CKR_TOKEN_WRITE_PROTECTED},
        {"C_CopyObject", [&](CK_SESSION_HANDLE h) { return f->C_CopyObject(h, obj, &t, 1, nullptr); },
         [&](CK_SESSION_HANDLE h) { return f->C_CopyObject(h, obj, &t, 1, &out); }, CKR_TOKEN_WRITE_PROTECTED},
        {"C_CopyObject, no such object", [&](CK_SESSION_HANDLE h) { return f->C_CopyObject(h, 0xBAD0BAD, nullptr, 1, &out); },
         [&](CK_SESSION_HANDLE h) { return f->C_CopyObject(h, 0xBAD0BAD, &t, 1, &out); }, CKR_OBJECT_HANDLE_INVALID},
        {"C_SetAttributeValue", [&](CK_SESSION_HANDLE h) { return f->C_SetAttributeValue(h, obj, nullptr, 1); },
         [&](CK_SESSION_HANDLE h) { return f->C_SetAttributeValue(h, obj, &t, 1); }, CKR_TOKEN_WRITE_PROTECTED},
        {"C_SetAttributeValue, no such object", [&](CK_SESSION_HANDLE h) { return f->C_SetAttributeValue(h, 0xBAD0BAD, nullptr, 1); },
         [&](CK_SESSION_HANDLE h) { return f->C_SetAttributeValue(h, 0xBAD0BAD, &t, 1); }, CKR_OBJECT_HANDLE_INVALID},
        {"C_InitPIN", [&](CK_SESSION_HANDLE h) { return f->C_InitPIN(h, nullptr, 4); },
         [&](CK_SESSION_HANDLE h) { return f->C_InitPIN(h, buf, 4); }, CKR_USER_NOT_LOGGED_IN},
        {"C_SetPIN", [&](CK_SESSION_HANDLE h) { return f->C_SetPIN(h, nullptr, 4, buf, 4); },
         [&](CK_SESSION_HANDLE h) { return f->C_SetPIN(h, buf, 3, buf, 4); }, CKR_SESSION_READ_ONLY},
        {"C_Login", [&](CK_SESSION_HANDLE h) { return f->C_Login(h, CKU_SO, nullptr, 4); },
         [&](CK_SESSION_HANDLE h) { return f->C_Login(h, CKU_SO, buf, 4); }, CKR_USER_TYPE_INVALID},
        {"C_GetOperationState", [&](CK_SESSION_HANDLE h) { return f->C_GetOperationState(h, buf, nullptr); },
         [&](CK_SESSION_HANDLE h) { return f->C_GetOperationState(h, buf, &len); }, CKR_FUNCTION_NOT_SUPPORTED},
        {"C_SetOperationState", [&](CK_SESSION_HANDLE h) { return f->C_SetOperationState(h, nullptr, 0, 0, 0); },
         [&](CK_SESSION_HANDLE h) { return f->C_SetOperationState(h, buf, 16, 0, 0); }, CKR_FUNCTION_NOT_SUPPORTED},
        {"C_EncryptInit", [&](CK_SESSION_HANDLE h) { return f->C_EncryptInit(h, nullptr, obj); },
         [&](CK_SESSION_HANDLE h) { return f->C_EncryptInit(h, &oaep, obj); }, CKR_MECHANISM_INVALID},
        {"C_Encrypt", [&](CK_SESSION_HANDLE h) { return f->C_Encrypt(h, nullptr, 4, buf, &len); },
         [&](CK_SESSION_HANDLE h) { return f->C_Encrypt(h, buf, 4, buf, &len); }, CKR_OPERATION_NOT_INITIALIZED},
        {"C_DecryptUpdate", [&](CK_SESSION_HANDLE h) { return f->C_DecryptUpdate(h, buf, 4, buf, nullptr); },
         [&](CK_SESSION_HANDLE h) { return f->C_DecryptUpdate(h, buf, 4, buf, &len); }, CKR_OPERATION_NOT_INITIALIZED},
        {"C_DecryptFinal", [&](CK_SESSION_HANDLE h) { return f->C_DecryptFinal(h, buf, nullptr); },
         [&](CK_SESSION_HANDLE h) { return f->C_DecryptFinal(h, buf, &len); }, CKR_OPERATION_NOT_INITIALIZED},
        {"C_SignRecoverInit", [&](CK_SESSION_HANDLE h) { return f->C_SignRecoverInit(h, nullptr, obj); },
         [&](CK_SESSION_HANDLE h) { return f->C_SignRecoverInit(h, &oaep, obj); }, CKR_MECHANISM_INVALID},
        {"C_VerifyRecover", [&](CK_SESSION_HANDLE h) { return f->C_VerifyRecover(h, nullptr, 4, buf, &len); },
         [&](CK_SESSION_HANDLE h) { return f->C_VerifyRecover(h, buf, 4, buf, &len); }, CKR_OPERATION_NOT_INITIALIZED},
        {"C_SignEncryptUpdate", [&](CK_SESSION_HANDLE h) { return f->C_SignEncryptUpdate(h, nullptr, 4, buf, &len); },
         [&](CK_SESSION_HANDLE h) { return f->C_SignEncryptUpdate(h, buf, 4, buf, &len); }, CKR_FUNCTION_NOT_SUPPORTED},
        {"C_WrapKey", [&](CK_SESSION_HANDLE h) { return f->C_WrapKey(h, &oaep, obj, obj, buf, nullptr); },
         [&](CK_SESSION_HANDLE h) { return f->C_WrapKey(h, &oaep, obj, obj, buf, &len); }, CKR_MECHANISM_INVALID},
        {"C_UnwrapKey", [&](CK_SESSION_HANDLE h) { return f->C_UnwrapKey(h, &oaep, obj, nullptr, 4, &t, 1, &out); },
         [&](CK_SESSION_HANDLE h) { return f->C_UnwrapKey(h, &oaep, obj, buf, 4, &t, 1, &out); }, CKR_MECHANISM_INVALID},
        {"C_DeriveKey", [&](CK_SESSION_HANDLE h) { return f->C_DeriveKey(h, nullptr, obj, &t, 1, &out); },
         [&](CK_SESSION_HANDLE h) { return f->C_DeriveKey(h, &oaep, obj, &t, 1, &out); }, CKR_MECHANISM_INVALID},
        {"C_SignInit", [&](CK_SESSION_HANDLE h) { return f->C_SignInit(h, nullptr, obj); },
         [&](CK_SESSION_HANDLE h) { return f->C_SignInit(h, &oaep, obj); }, CKR_MECHANISM_INVALID},
        {"C_GetAttributeValue", [&](CK_SESSION_HANDLE h) { return f->C_GetAttributeValue(h, obj, nullptr, 1); },
         [&](CK_SESSION_HANDLE h) { return f->C_GetAttributeValue(h, 0xBAD0BAD, &t, 1); }, CKR_OBJECT_HANDLE_INVALID},
        {"C_GetObjectSize", [&](CK_SESSION_HANDLE h) { return f->C_GetObjectSize(h, obj, nullptr); },
         [&](CK_SESSION_HANDLE h) { return f->C_GetObjectSize(h, 0xBAD0BAD, &len); }, CKR_OBJECT_HANDLE_INVALID},
    };
    const SentToCard sent(*c.card);
    for (const ArgCase& k : cases) {
        INFO(k.name);
        CHECK(k.bad_args(bad) == CKR_ARGUMENTS_BAD);
        CHECK(k.bad_args(good) == CKR_ARGUMENTS_BAD);
        CHECK(k.good_args(bad) == CKR_SESSION_HANDLE_INVALID);
        CHECK(k.good_args(good) == k.well_formed);
    }
    CHECK(out == CK_INVALID_HANDLE);
    CHECK(out2 == CK_INVALID_HANDLE);
    CHECK(sent.pins() == 0);
    CHECK(c.card->tries_left(false) == 3);
    // C_InitToken: the slot's counterpart of a session.
    CHECK(f->C_InitToken(c.slots[0], buf, 4, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(f->C_InitToken(99, buf, 4, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(f->C_InitToken(99, buf, 4, reinterpret_cast<CK_UTF8CHAR_PTR>(label.data())) == CKR_SLOT_ID_INVALID);
    CHECK(f->C_InitToken(c.slots[0], buf, 4, reinterpret_cast<CK_UTF8CHAR_PTR>(label.data())) ==
          CKR_TOKEN_WRITE_PROTECTED);

    // Before C_Initialize, even bad arguments are answered CKR_CRYPTOKI_NOT_INITIALIZED.
    REQUIRE(f->C_Finalize(nullptr) == CKR_OK);
    for (const ArgCase& k : cases) {
        INFO(k.name);
        CHECK(k.bad_args(good) == CKR_CRYPTOKI_NOT_INITIALIZED);
    }
    CHECK(f->C_InitToken(0, buf, 4, nullptr) == CKR_CRYPTOKI_NOT_INITIALIZED);
}

// --- PSS parameters -------------------------------------------------------------------------

TEST_CASE("conformance: C_SignInit and C_VerifyInit refuse PSS parameters the card cannot produce",
          "[conformance]") {
    OneCard c;
    CK_FUNCTION_LIST_PTR f = c.f;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    const auto priv = find(f, s, CKO_PRIVATE_KEY);
    const auto pub = find(f, s, CKO_PUBLIC_KEY);
    REQUIRE(priv.size() == 1);
    REQUIRE(pub.size() == 1);
    struct Params {
        const char* what;
        CK_RSA_PKCS_PSS_PARAMS p;
        CK_ULONG len;
        bool null;
    };
    const CK_ULONG n = sizeof(CK_RSA_PKCS_PSS_PARAMS);
    const Params refused[] = {
        {"hash SHA-1", {CKM_SHA_1, CKG_MGF1_SHA256, 32}, n, false},
        {"hash SHA-384", {CKM_SHA384, CKG_MGF1_SHA256, 32}, n, false},
        {"MGF1-SHA1", {CKM_SHA256, CKG_MGF1_SHA1, 32}, n, false},
        {"MGF1-SHA512", {CKM_SHA256, CKG_MGF1_SHA512, 32}, n, false},
        {"salt 0", {CKM_SHA256, CKG_MGF1_SHA256, 0}, n, false},
        {"salt 20", {CKM_SHA256, CKG_MGF1_SHA256, 20}, n, false},
        {"salt 222", {CKM_SHA256, CKG_MGF1_SHA256, 222}, n, false},
        {"a short ulParameterLen", {CKM_SHA256, CKG_MGF1_SHA256, 32}, n - 1, false},
        {"a long ulParameterLen", {CKM_SHA256, CKG_MGF1_SHA256, 32}, n + 8, false},
        {"no parameters", {CKM_SHA256, CKG_MGF1_SHA256, 32}, 0, true},
        {"NULL parameters with a length", {CKM_SHA256, CKG_MGF1_SHA256, 32}, n, true},
    };
    for (CK_MECHANISM_TYPE type : {CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS}) {
        for (const Params& r : refused) {
            INFO(r.what << ", mechanism " << type);
            CK_RSA_PKCS_PSS_PARAMS p = r.p;
            CK_MECHANISM m{type, r.null ? nullptr : &p, r.len};
            CHECK(f->C_SignInit(s, &m, priv[0]) == CKR_MECHANISM_PARAM_INVALID);
            CHECK(f->C_VerifyInit(s, &m, pub[0]) == CKR_MECHANISM_PARAM_INVALID);
        }
        // What the card does is accepted (and nothing was left behind by the refusals).
        CK_RSA_PKCS_PSS_PARAMS good{CKM_SHA256, CKG_MGF1_SHA256, 32};
        CK_MECHANISM m{type, &good, sizeof good};
        CHECK(f->C_SignInit(s, &m, priv[0]) == CKR_OK);
        CHECK(f->C_VerifyInit(s, &m, pub[0]) == CKR_OK);
        CK_BYTE out[256];
        CK_ULONG len = sizeof out;
        CK_BYTE hash[32] = {};
        REQUIRE(f->C_Sign(s, hash, sizeof hash, out, &len) == CKR_OK);
        CHECK(f->C_Verify(s, hash, sizeof hash, out, len) == CKR_OK);
    }
}
