// The module core through the C function list: initialisation, slots, tokens, sessions, login,
// PIN counters, threads, fork, slot events and card removal. Every expectation is an exact
// CK_RV (or the one set of codes PKCS#11 2.40 leaves open).
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <signal.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace jpki;
using namespace jpki::test;
using namespace std::chrono_literals;

namespace {

constexpr CK_FLAGS kPinFlags =
    CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY | CKF_USER_PIN_LOCKED | CKF_USER_PIN_TO_BE_CHANGED;
// The token flags of a PIN with one try left, and of a blocked PIN.
constexpr CK_FLAGS kFinalTry = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY;
constexpr CK_FLAGS kLocked = CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_LOCKED;

template <std::size_t N>
std::string field(const CK_UTF8CHAR (&text)[N]) {
    return std::string(reinterpret_cast<const char*>(text), N);
}

std::string padded(const std::string& s, std::size_t n) {
    std::string r = s;
    r.resize(n, ' ');
    return r;
}

std::vector<CK_SLOT_ID> slot_list(CK_FUNCTION_LIST_PTR f, CK_BBOOL present) {
    CK_ULONG n = 0;
    REQUIRE(f->C_GetSlotList(present, nullptr, &n) == CKR_OK);
    std::vector<CK_SLOT_ID> ids(n + 4, ~0UL);
    CK_ULONG room = ids.size();
    REQUIRE(f->C_GetSlotList(present, ids.data(), &room) == CKR_OK);
    REQUIRE(room == n);
    ids.resize(room);
    return ids;
}

// C_Initialize(NULL), then every slot, with a token or without, REQUIREd to be `expected` many.
std::vector<CK_SLOT_ID> initialize_and_list_all(CK_FUNCTION_LIST_PTR f, std::size_t expected) {
    REQUIRE(f->C_Initialize(nullptr) == CKR_OK);
    auto all = slot_list(f, CK_FALSE);
    REQUIRE(all.size() == expected);
    return all;
}

bool contains(const std::vector<CK_SLOT_ID>& v, CK_SLOT_ID id) { return std::find(v.begin(), v.end(), id) != v.end(); }

// A slot without a token (none inserted, taken out, or one that does not answer): no token info,
// and a removable hardware slot without CKF_TOKEN_PRESENT.
void check_no_token(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) {
    CK_TOKEN_INFO tok{};
    CHECK(f->C_GetTokenInfo(slot, &tok) == CKR_TOKEN_NOT_PRESENT);
    CK_SLOT_INFO si{};
    REQUIRE(f->C_GetSlotInfo(slot, &si) == CKR_OK);
    CHECK(si.flags == (CKF_REMOVABLE_DEVICE | CKF_HW_SLOT));
}

CK_SESSION_HANDLE open_rw(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) {
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    REQUIRE(f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s) == CKR_OK);
    return s;
}

CK_STATE session_state(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s) {
    CK_SESSION_INFO info{};
    REQUIRE(f->C_GetSessionInfo(s, &info) == CKR_OK);
    return info.state;
}

CK_FLAGS pin_flags(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) { return token_info(f, slot).flags & kPinFlags; }

// The PIN flags of a card's two tokens: the authentication token's, then the signature token's.
void check_pin_flags(CK_FUNCTION_LIST_PTR f, const std::vector<CK_SLOT_ID>& slots, CK_FLAGS auth, CK_FLAGS sign) {
    CHECK(pin_flags(f, slots.at(0)) == auth);
    CHECK(pin_flags(f, slots.at(1)) == sign);
}

// Sets a card's PIN counter as wrong PINs typed in another process would, then waits out the
// second for which the module may answer from its cached counter.
void tries_left_elsewhere(sim::JpkiCard& card, bool sign_pin, int tries) {
    card.set_tries_left(sign_pin, tries);
    std::this_thread::sleep_for(1100ms);
}

std::string token_serial(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) { return field(token_info(f, slot).serialNumber); }

std::string reader_name(ModuleWorld& w, int reader) {
    return w.readers.snapshot().at(static_cast<std::size_t>(reader)).name;
}


// VERIFY commands without data in a card's log: PIN counter reads (they cost no try).
std::size_t empty_verify_count(const sim::JpkiCard& card) {
    return count_commands(card, 0x20, [](const sim::LoggedApdu& l) { return l.lc == 0; });
}

// Waits for a child process at most `limit`; kills it when it overstays. Returns its exit
// code, or -1 (killed or abnormal end).
int wait_child(pid_t pid, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    int status = 0;
    for (;;) {
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0) return -1;
        if (std::chrono::steady_clock::now() > until) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        std::this_thread::sleep_for(10ms);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs `child` in a forked process that _exits with what it returns (no Catch2 there: each failed
// step returns a code of its own), and waits for it at most `limit`. Returns its exit code, or -1.
int run_in_child(const std::function<int()>& child, std::chrono::milliseconds limit) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(child());
    return wait_child(pid, limit);
}

// Application mutex callbacks that count their use.
std::atomic<int> g_creates{0}, g_destroys{0}, g_locks{0}, g_unlocks{0};
CK_RV cb_create(CK_VOID_PTR_PTR m) {
    if (!m) return CKR_ARGUMENTS_BAD;
    *m = new std::mutex;
    ++g_creates;
    return CKR_OK;
}
CK_RV cb_destroy(CK_VOID_PTR m) {
    delete static_cast<std::mutex*>(m);
    ++g_destroys;
    return CKR_OK;
}
CK_RV cb_lock(CK_VOID_PTR m) {
    static_cast<std::mutex*>(m)->lock();
    ++g_locks;
    return CKR_OK;
}
CK_RV cb_unlock(CK_VOID_PTR m) {
    ++g_unlocks;
    static_cast<std::mutex*>(m)->unlock();
    return CKR_OK;
}
void reset_callback_counters() { g_creates = g_destroys = g_locks = g_unlocks = 0; }

CK_C_INITIALIZE_ARGS callback_args(CK_FLAGS flags) {
    CK_C_INITIALIZE_ARGS a{};
    a.CreateMutex = cb_create;
    a.DestroyMutex = cb_destroy;
    a.LockMutex = cb_lock;
    a.UnlockMutex = cb_unlock;
    a.flags = flags;
    a.pReserved = nullptr;
    return a;
}

CK_UTF8CHAR_PTR utf8(std::string& s) { return reinterpret_cast<CK_UTF8CHAR_PTR>(&s[0]); }

// dlopen() of a copy of the module. Its static initialisers leak the global lock and the state
// holder on purpose (module.cpp: they must outlive static destructors), once per load: not
// something LeakSanitizer should report for a copy that is really unloaded.
void* load_module_copy(const std::string& path) {
#if defined(__SANITIZE_ADDRESS__)
    __lsan::ScopedDisabler deliberate_leaks;
#endif
    return dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
}

// The function list of a module loaded with dlopen(), through its C_GetFunctionList.
CK_FUNCTION_LIST_PTR function_list_of(void* handle) {
    auto get = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(handle, "C_GetFunctionList"));
    REQUIRE(get != nullptr);
    CK_FUNCTION_LIST_PTR f = nullptr;
    REQUIRE(get(&f) == CKR_OK);
    return f;
}

}  // namespace

// --- 1. the function list and an uninitialised module ---------------------------------------

TEST_CASE("module: C_GetFunctionList gives a complete 2.40 function list", "[module]") {
    ModuleWorld w;
    CHECK(w.f->C_GetFunctionList(nullptr) == CKR_ARGUMENTS_BAD);
    CK_FUNCTION_LIST_PTR list = nullptr;
    REQUIRE(w.f->C_GetFunctionList(&list) == CKR_OK);
    REQUIRE(list == w.f);
    CHECK(int(list->version.major) == 2);
    CHECK(int(list->version.minor) == 40);
#define JPKI_NONNULL(fn) CHECK(list->fn != nullptr);
    JPKI_NONNULL(C_Initialize) JPKI_NONNULL(C_Finalize) JPKI_NONNULL(C_GetInfo) JPKI_NONNULL(C_GetFunctionList)
    JPKI_NONNULL(C_GetSlotList) JPKI_NONNULL(C_GetSlotInfo) JPKI_NONNULL(C_GetTokenInfo)
    JPKI_NONNULL(C_GetMechanismList) JPKI_NONNULL(C_GetMechanismInfo) JPKI_NONNULL(C_InitToken)
    JPKI_NONNULL(C_InitPIN) JPKI_NONNULL(C_SetPIN) JPKI_NONNULL(C_OpenSession) JPKI_NONNULL(C_CloseSession)
    JPKI_NONNULL(C_CloseAllSessions) JPKI_NONNULL(C_GetSessionInfo) JPKI_NONNULL(C_GetOperationState)
    JPKI_NONNULL(C_SetOperationState) JPKI_NONNULL(C_Login) JPKI_NONNULL(C_Logout) JPKI_NONNULL(C_CreateObject)
    JPKI_NONNULL(C_CopyObject) JPKI_NONNULL(C_DestroyObject) JPKI_NONNULL(C_GetObjectSize)
    JPKI_NONNULL(C_GetAttributeValue) JPKI_NONNULL(C_SetAttributeValue) JPKI_NONNULL(C_FindObjectsInit)
    JPKI_NONNULL(C_FindObjects) JPKI_NONNULL(C_FindObjectsFinal) JPKI_NONNULL(C_EncryptInit)
    JPKI_NONNULL(C_Encrypt) JPKI_NONNULL(C_EncryptUpdate) JPKI_NONNULL(C_EncryptFinal) JPKI_NONNULL(C_DecryptInit)
    JPKI_NONNULL(C_Decrypt) JPKI_NONNULL(C_DecryptUpdate) JPKI_NONNULL(C_DecryptFinal) JPKI_NONNULL(C_DigestInit)
    JPKI_NONNULL(C_Digest) JPKI_NONNULL(C_DigestUpdate) JPKI_NONNULL(C_DigestKey) JPKI_NONNULL(C_DigestFinal)
    JPKI_NONNULL(C_SignInit) JPKI_NONNULL(C_Sign) JPKI_NONNULL(C_SignUpdate) JPKI_NONNULL(C_SignFinal)
    JPKI_NONNULL(C_SignRecoverInit) JPKI_NONNULL(C_SignRecover) JPKI_NONNULL(C_VerifyInit) JPKI_NONNULL(C_Verify)
    JPKI_NONNULL(C_VerifyUpdate) JPKI_NONNULL(C_VerifyFinal) JPKI_NONNULL(C_VerifyRecoverInit)
    JPKI_NONNULL(C_VerifyRecover) JPKI_NONNULL(C_DigestEncryptUpdate) JPKI_NONNULL(C_DecryptDigestUpdate)
    JPKI_NONNULL(C_SignEncryptUpdate) JPKI_NONNULL(C_DecryptVerifyUpdate) JPKI_NONNULL(C_GenerateKey)
    JPKI_NONNULL(C_GenerateKeyPair) JPKI_NONNULL(C_WrapKey) JPKI_NONNULL(C_UnwrapKey) JPKI_NONNULL(C_DeriveKey)
    JPKI_NONNULL(C_SeedRandom) JPKI_NONNULL(C_GenerateRandom) JPKI_NONNULL(C_GetFunctionStatus)
    JPKI_NONNULL(C_CancelFunction) JPKI_NONNULL(C_WaitForSlotEvent)
#undef JPKI_NONNULL
}

TEST_CASE("module: every function answers CKR_CRYPTOKI_NOT_INITIALIZED before C_Initialize and after C_Finalize",
          "[module]") {
    ModuleWorld w;
    w.add_card(1);
    CK_FUNCTION_LIST_PTR f = w.f;
    // Well-formed arguments everywhere, so that only the missing initialisation is wrong.
    CK_INFO info{};
    CK_SLOT_INFO slot_info{};
    CK_TOKEN_INFO tok{};
    CK_SESSION_INFO sess{};
    CK_SLOT_ID ids[8];
    CK_ULONG n = 8;
    CK_SLOT_ID event_slot = 0;
    CK_SESSION_HANDLE h = 1;
    CK_MECHANISM_TYPE mechs[32];
    CK_MECHANISM_INFO mech_info{};
    std::string pin = kAuthPin;
    std::string label = padded("label", 32);
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_ATTRIBUTE attr{CKA_CLASS, &cls, sizeof cls};
    CK_OBJECT_HANDLE objs[4];
    CK_MECHANISM mech{CKM_SHA256_RSA_PKCS, nullptr, 0};
    CK_BYTE data[32] = {};
    CK_BYTE sig[256];
    CK_ULONG sig_len = sizeof sig;
    CK_OBJECT_HANDLE pub = 0, priv = 0;
    std::vector<std::pair<const char*, std::function<CK_RV()>>> calls = {
        {"C_GetInfo", [&] { return f->C_GetInfo(&info); }},
        {"C_GetSlotList", [&] { n = 8; return f->C_GetSlotList(CK_FALSE, ids, &n); }},
        {"C_GetSlotInfo", [&] { return f->C_GetSlotInfo(0, &slot_info); }},
        {"C_GetTokenInfo", [&] { return f->C_GetTokenInfo(0, &tok); }},
        {"C_GetMechanismList", [&] { n = 32; return f->C_GetMechanismList(0, mechs, &n); }},
        {"C_GetMechanismInfo", [&] { return f->C_GetMechanismInfo(0, CKM_RSA_PKCS, &mech_info); }},
        {"C_WaitForSlotEvent", [&] { return f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &event_slot, nullptr); }},
        {"C_InitToken", [&] { return f->C_InitToken(0, utf8(pin), pin.size(), utf8(label)); }},
        {"C_OpenSession", [&] { return f->C_OpenSession(0, CKF_SERIAL_SESSION, nullptr, nullptr, &h); }},
        {"C_CloseSession", [&] { return f->C_CloseSession(1); }},
        {"C_CloseAllSessions", [&] { return f->C_CloseAllSessions(0); }},
        {"C_GetSessionInfo", [&] { return f->C_GetSessionInfo(1, &sess); }},
        {"C_Login", [&] { return f->C_Login(1, CKU_USER, utf8(pin), pin.size()); }},
        {"C_Logout", [&] { return f->C_Logout(1); }},
        {"C_InitPIN", [&] { return f->C_InitPIN(1, utf8(pin), pin.size()); }},
        {"C_SetPIN", [&] { return f->C_SetPIN(1, utf8(pin), pin.size(), utf8(pin), pin.size()); }},
        {"C_FindObjectsInit", [&] { return f->C_FindObjectsInit(1, &attr, 1); }},
        {"C_FindObjects", [&] { return f->C_FindObjects(1, objs, 4, &n); }},
        {"C_FindObjectsFinal", [&] { return f->C_FindObjectsFinal(1); }},
        {"C_GetAttributeValue", [&] { return f->C_GetAttributeValue(1, 1, &attr, 1); }},
        {"C_CreateObject", [&] { return f->C_CreateObject(1, &attr, 1, objs); }},
        {"C_DestroyObject", [&] { return f->C_DestroyObject(1, 1); }},
        {"C_SetAttributeValue", [&] { return f->C_SetAttributeValue(1, 1, &attr, 1); }},
        {"C_GenerateKeyPair", [&] { return f->C_GenerateKeyPair(1, &mech, nullptr, 0, nullptr, 0, &pub, &priv); }},
        {"C_SignInit", [&] { return f->C_SignInit(1, &mech, 1); }},
        {"C_Sign", [&] { sig_len = sizeof sig; return f->C_Sign(1, data, sizeof data, sig, &sig_len); }},
        {"C_VerifyInit", [&] { return f->C_VerifyInit(1, &mech, 1); }},
        {"C_DigestInit", [&] { return f->C_DigestInit(1, &mech); }},
        {"C_GenerateRandom", [&] { return f->C_GenerateRandom(1, data, sizeof data); }},
        {"C_GetFunctionStatus", [&] { return f->C_GetFunctionStatus(1); }},
    };
    auto all_uninitialised = [&] {
        for (auto& [name, call] : calls) {
            INFO(name);
            CHECK(call() == CKR_CRYPTOKI_NOT_INITIALIZED);
        }
        CHECK(f->C_Finalize(nullptr) == CKR_CRYPTOKI_NOT_INITIALIZED);
    };
    SECTION("before the first C_Initialize") { all_uninitialised(); }
    SECTION("after C_Finalize") {
        REQUIRE(f->C_Initialize(nullptr) == CKR_OK);
        REQUIRE(f->C_OpenSession(0, CKF_SERIAL_SESSION, nullptr, nullptr, &h) == CKR_OK);
        REQUIRE(f->C_Finalize(nullptr) == CKR_OK);
        all_uninitialised();
    }
}

// --- 2. C_Initialize, C_Finalize, C_GetInfo -------------------------------------------------

TEST_CASE("module: a second C_Initialize answers CKR_CRYPTOKI_ALREADY_INITIALIZED", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.auth_session();
    CHECK(c.f->C_Initialize(nullptr) == CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    CHECK(c.f->C_Initialize(&args) == CKR_CRYPTOKI_ALREADY_INITIALIZED);
    // The refused call left the module as it was.
    CHECK(session_state(c.f, s) == CKS_RO_PUBLIC_SESSION);
}

TEST_CASE("module: C_Initialize with a non-null pReserved answers CKR_ARGUMENTS_BAD", "[module]") {
    ModuleWorld w;
    int something = 0;
    CK_C_INITIALIZE_ARGS args{};
    args.pReserved = &something;
    CHECK(w.f->C_Initialize(&args) == CKR_ARGUMENTS_BAD);
    args.flags = CKF_OS_LOCKING_OK;
    CHECK(w.f->C_Initialize(&args) == CKR_ARGUMENTS_BAD);
    CK_INFO info{};
    CHECK(w.f->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED);
}

TEST_CASE("module: C_Initialize with only some mutex callbacks answers CKR_ARGUMENTS_BAD", "[module]") {
    ModuleWorld w;
    for (unsigned mask = 1; mask < 15; ++mask) {  // every subset except none and all four
        for (CK_FLAGS flags : {CK_FLAGS(0), CK_FLAGS(CKF_OS_LOCKING_OK)}) {
            CK_C_INITIALIZE_ARGS args = callback_args(flags);
            if (!(mask & 1)) args.CreateMutex = nullptr;
            if (!(mask & 2)) args.DestroyMutex = nullptr;
            if (!(mask & 4)) args.LockMutex = nullptr;
            if (!(mask & 8)) args.UnlockMutex = nullptr;
            INFO("callbacks given: mask " << mask << ", flags " << flags);
            CHECK(w.f->C_Initialize(&args) == CKR_ARGUMENTS_BAD);
        }
    }
    CK_INFO info{};
    CHECK(w.f->C_GetInfo(&info) == CKR_CRYPTOKI_NOT_INITIALIZED);
}

TEST_CASE("module: mutex callbacks given without CKF_OS_LOCKING_OK are the locks the module uses", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    reset_callback_counters();
    CK_C_INITIALIZE_ARGS args = callback_args(0);
    REQUIRE(w.f->C_Initialize(&args) == CKR_OK);
    auto slots = slot_list(w.f, CK_TRUE);
    REQUIRE(slots.size() == 2);
    const int created = g_creates.load();
    CHECK(created >= 1);
    const int locks_before = g_locks.load();
    CK_SESSION_HANDLE s = open_session(w.f, slots[0]);
    const int locks_after_open = g_locks.load();
    CHECK(locks_after_open > locks_before);
    token_info(w.f, slots[0]);
    CHECK(g_locks.load() > locks_after_open);
    CHECK(g_locks.load() == g_unlocks.load());  // every lock taken was given back
    CHECK(w.f->C_CloseSession(s) == CKR_OK);
    REQUIRE(w.f->C_Finalize(nullptr) == CKR_OK);
    // Every mutex the module created through the application is destroyed the same way.
    CHECK(g_destroys.load() == g_creates.load());
    CHECK(g_locks.load() == g_unlocks.load());
}

TEST_CASE("module: C_Initialize accepts CKF_OS_LOCKING_OK with or without callbacks", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    CK_C_INITIALIZE_ARGS with = callback_args(CKF_OS_LOCKING_OK);
    CK_C_INITIALIZE_ARGS without{};
    without.flags = CKF_OS_LOCKING_OK;
    for (CK_C_INITIALIZE_ARGS* args : {&with, &without}) {
        REQUIRE(w.f->C_Initialize(args) == CKR_OK);
        auto slots = slot_list(w.f, CK_TRUE);
        REQUIRE(slots.size() == 2);
        CK_SESSION_HANDLE s = open_session(w.f, slots[0]);
        token_info(w.f, slots[0]);
        CHECK(w.f->C_CloseSession(s) == CKR_OK);
        REQUIRE(w.f->C_Finalize(nullptr) == CKR_OK);
    }
}

TEST_CASE("module: C_Finalize with a non-null pReserved answers CKR_ARGUMENTS_BAD and finalizes nothing",
          "[module]") {
    ModuleWorld w;
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    int something = 0;
    CHECK(w.f->C_Finalize(&something) == CKR_ARGUMENTS_BAD);
    CK_INFO info{};
    CHECK(w.f->C_GetInfo(&info) == CKR_OK);
    CHECK(w.f->C_Finalize(nullptr) == CKR_OK);
    CHECK(w.f->C_Finalize(nullptr) == CKR_CRYPTOKI_NOT_INITIALIZED);
}

TEST_CASE("module: fifty C_Initialize / C_Finalize cycles", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    for (int i = 0; i < 50; ++i) {
        INFO("cycle " << i);
        REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
        CK_ULONG n = 0;
        REQUIRE(w.f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
        CHECK(n == 2);
        REQUIRE(w.f->C_Finalize(nullptr) == CKR_OK);
    }
}

TEST_CASE("module: C_GetInfo reports Cryptoki 2.40 in blank-padded fields", "[module]") {
    ModuleWorld w;
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CK_INFO info;
    std::memset(&info, 0xA5, sizeof info);
    REQUIRE(w.f->C_GetInfo(&info) == CKR_OK);
    CHECK(int(info.cryptokiVersion.major) == 2);
    CHECK(int(info.cryptokiVersion.minor) == 40);
    CHECK(info.flags == 0);
    CHECK(field(info.manufacturerID) == padded("jpki-pkcs11 project", 32));
    CHECK(field(info.libraryDescription) == padded("JPKI My Number Card PKCS#11", 32));
    CHECK(w.f->C_GetInfo(nullptr) == CKR_ARGUMENTS_BAD);
}

// --- 3. loading and unloading ---------------------------------------------------------------

TEST_CASE("module: dlopen, C_Initialize, C_GetSlotList, C_Finalize, dlclose five times", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    SECTION("the test module (also held open by the fixture)") {
        for (int i = 0; i < 5; ++i) {
            INFO("round " << i);
            void* handle = dlopen(module_path().c_str(), RTLD_NOW | RTLD_LOCAL);
            REQUIRE(handle != nullptr);
            CK_FUNCTION_LIST_PTR f = function_list_of(handle);
            REQUIRE(f->C_Initialize(nullptr) == CKR_OK);
            CK_ULONG n = 0;
            CHECK(f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
            CHECK(n == 2);
            CHECK(f->C_Finalize(nullptr) == CKR_OK);
            CHECK(dlclose(handle) == 0);
        }
    }
    SECTION("a private copy, really unloaded each time; fork() still works afterwards") {
        // A copy under another name is a module of its own (own statics, own simulated
        // readers), so dlclose unloads it: its fork handlers must go with it.
        char dir[] = "/tmp/jpki-module-copy.XXXXXX";
        REQUIRE(mkdtemp(dir) != nullptr);
        const std::string copy = std::string(dir) + "/jpki-pkcs11-copy.so";
        {
            const Bytes image = read_file(module_path());
            FILE* out = std::fopen(copy.c_str(), "wb");
            REQUIRE(out != nullptr);
            REQUIRE(std::fwrite(image.data(), 1, image.size(), out) == image.size());
            REQUIRE(std::fclose(out) == 0);
        }
        for (int i = 0; i < 5; ++i) {
            INFO("round " << i);
            void* handle = load_module_copy(copy);
            REQUIRE(handle != nullptr);
            CK_FUNCTION_LIST_PTR f = function_list_of(handle);
            REQUIRE(f != w.f);
            auto sim = reinterpret_cast<sim::SimReaders* (*)()>(dlsym(handle, "jpki_test_sim_readers"));
            REQUIRE(sim != nullptr);
            sim::SimReaders& readers = *sim();
            REQUIRE(&readers != &w.readers);
            readers.insert(readers.add_reader("Copy Reader"), card_config(2));
            REQUIRE(f->C_Initialize(nullptr) == CKR_OK);
            CK_ULONG n = 0;
            CHECK(f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
            CHECK(n == 2);
            CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
            CHECK(f->C_OpenSession(0, CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_OK);
            CHECK(f->C_Finalize(nullptr) == CKR_OK);
            readers.clear();
            CHECK(dlclose(handle) == 0);
            CHECK(run_in_child([] { return 0; }, 10s) == 0);
        }
        // The fixture's module is untouched by all this.
        CHECK(initialize_and_list(w.f).size() == 2);
        std::remove(copy.c_str());
        rmdir(dir);
    }
}

// --- 4. slots -------------------------------------------------------------------------------

TEST_CASE("module: two slots per reader, authentication then signature, with stable IDs", "[module]") {
    ModuleWorld w;
    const int r1 = w.add_card(1);
    const int r2 = w.add_card(2);
    auto all = initialize_and_list_all(w.f, 4);
    CHECK(std::set<CK_SLOT_ID>(all.begin(), all.end()).size() == 4);
    const std::string names[2] = {reader_name(w, r1), reader_name(w, r2)};
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("slot " << all[i]);
        CK_SLOT_INFO si{};
        REQUIRE(w.f->C_GetSlotInfo(all[i], &si) == CKR_OK);
        CHECK(field(si.slotDescription).rfind(names[i / 2], 0) == 0);
        CHECK(field(token_info(w.f, all[i]).label) ==
              padded(i % 2 == 0 ? "JPKI Authentication" : "JPKI Signature", 32));
    }
    CHECK(slot_list(w.f, CK_FALSE) == all);
    CHECK(slot_list(w.f, CK_TRUE) == all);
}

TEST_CASE("module: C_GetSlotList follows the two-call protocol", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CK_ULONG n = 0;
    REQUIRE(w.f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
    REQUIRE(n == 2);
    CK_SLOT_ID ids[4] = {~0UL, ~0UL, ~0UL, ~0UL};
    CK_ULONG small = 1;
    CHECK(w.f->C_GetSlotList(CK_TRUE, ids, &small) == CKR_BUFFER_TOO_SMALL);
    CHECK(small == 2);
    CK_ULONG zero = 0;
    CHECK(w.f->C_GetSlotList(CK_FALSE, ids, &zero) == CKR_BUFFER_TOO_SMALL);
    CHECK(zero == 2);
    CK_ULONG exact = 2;
    CHECK(w.f->C_GetSlotList(CK_TRUE, ids, &exact) == CKR_OK);
    CHECK(exact == 2);
    CHECK(ids[0] != ids[1]);
    CHECK(ids[2] == ~0UL);
    CK_ULONG large = 4;
    CK_SLOT_ID again[4] = {~0UL, ~0UL, ~0UL, ~0UL};
    CHECK(w.f->C_GetSlotList(CK_TRUE, again, &large) == CKR_OK);
    CHECK(large == 2);
    CHECK(again[0] == ids[0]);
    CHECK(again[1] == ids[1]);
    CHECK(w.f->C_GetSlotList(CK_TRUE, nullptr, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(w.f->C_GetSlotList(CK_FALSE, ids, nullptr) == CKR_ARGUMENTS_BAD);
}

TEST_CASE("module: an empty reader's slots are listed only with tokenPresent FALSE", "[module]") {
    ModuleWorld w;
    const int card = w.add_card(1);
    const int empty = w.add_empty_reader();
    auto all = initialize_and_list_all(w.f, 4);
    auto present = slot_list(w.f, CK_TRUE);
    REQUIRE(present.size() == 2);
    for (CK_SLOT_ID id : all) {
        CK_SLOT_INFO si{};
        REQUIRE(w.f->C_GetSlotInfo(id, &si) == CKR_OK);
        const bool in_empty = field(si.slotDescription).rfind(reader_name(w, empty), 0) == 0;
        const bool in_card = field(si.slotDescription).rfind(reader_name(w, card), 0) == 0;
        INFO("slot " << id);
        CHECK(in_empty != in_card);
        CHECK(contains(present, id) == in_card);
        CK_TOKEN_INFO tok{};
        CHECK(w.f->C_GetTokenInfo(id, &tok) == (in_card ? CKR_OK : CKR_TOKEN_NOT_PRESENT));
    }
}

TEST_CASE("module: C_GetSlotInfo reports a removable hardware slot named after its reader", "[module]") {
    ModuleWorld w;
    const int r = w.add_card(1);
    w.add_empty_reader();
    auto all = initialize_and_list_all(w.f, 4);
    for (std::size_t i = 0; i < 4; ++i) {
        INFO("slot " << all[i]);
        CK_SLOT_INFO si{};
        REQUIRE(w.f->C_GetSlotInfo(all[i], &si) == CKR_OK);
        const CK_FLAGS expected = CKF_REMOVABLE_DEVICE | CKF_HW_SLOT | (i < 2 ? CKF_TOKEN_PRESENT : 0);
        CHECK(si.flags == expected);
        CHECK(field(si.manufacturerID) == padded("PC/SC reader", 32));
    }
    CK_SLOT_INFO si{};
    REQUIRE(w.f->C_GetSlotInfo(all[0], &si) == CKR_OK);
    CHECK(field(si.slotDescription) == padded(reader_name(w, r), 64));
    CHECK(w.f->C_GetSlotInfo(all[0], nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(w.f->C_GetSlotInfo(4, &si) == CKR_SLOT_ID_INVALID);
    CHECK(w.f->C_GetSlotInfo(~0UL, &si) == CKR_SLOT_ID_INVALID);
    CK_TOKEN_INFO tok{};
    CHECK(w.f->C_GetTokenInfo(4, &tok) == CKR_SLOT_ID_INVALID);
    CHECK(w.f->C_GetTokenInfo(all[0], nullptr) == CKR_ARGUMENTS_BAD);
}

TEST_CASE("module: a card without a signature certificate has no signature token", "[module]") {
    ModuleWorld w;
    auto config = card_config(1);
    config.has_sign_cert = false;
    w.add_card(1, config);
    auto all = initialize_and_list_all(w.f, 2);
    auto present = slot_list(w.f, CK_TRUE);
    REQUIRE(present == std::vector<CK_SLOT_ID>{all[0]});
    CHECK(field(token_info(w.f, all[0]).label) == padded("JPKI Authentication", 32));
    check_no_token(w.f, all[1]);
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CHECK(w.f->C_OpenSession(all[1], CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_TOKEN_NOT_PRESENT);
}

TEST_CASE("module: a reader added after C_Initialize gets new slot IDs, the old ones unchanged", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    const auto before = initialize_and_list_all(w.f, 2);
    const std::string serial1 = token_serial(w.f, before[0]);
    w.add_card(2);
    const auto after = slot_list(w.f, CK_FALSE);
    REQUIRE(after.size() == 4);
    CHECK(after[0] == before[0]);
    CHECK(after[1] == before[1]);
    CHECK(std::set<CK_SLOT_ID>(after.begin(), after.end()).size() == 4);
    CHECK(slot_list(w.f, CK_TRUE) == after);
    CHECK(token_serial(w.f, before[0]) == serial1);
    CHECK(token_serial(w.f, after[2]) == card_config(2).serial);
    CHECK(field(token_info(w.f, after[3]).label) == padded("JPKI Signature", 32));
}

TEST_CASE("module: the slot list never shrinks when a card or a reader goes away", "[module]") {
    ModuleWorld w;
    const int r1 = w.add_card(1);
    w.add_card(2);
    const auto all = initialize_and_list_all(w.f, 4);

    w.readers.remove(r1);  // card 1 pulled out
    CHECK(slot_list(w.f, CK_FALSE) == all);
    CHECK(slot_list(w.f, CK_TRUE) == std::vector<CK_SLOT_ID>{all[2], all[3]});
    CK_SLOT_INFO si{};
    REQUIRE(w.f->C_GetSlotInfo(all[0], &si) == CKR_OK);
    CHECK(si.flags == (CKF_REMOVABLE_DEVICE | CKF_HW_SLOT));
    CK_TOKEN_INFO tok{};
    CHECK(w.f->C_GetTokenInfo(all[1], &tok) == CKR_TOKEN_NOT_PRESENT);

    w.readers.clear();  // both readers unplugged
    CHECK(slot_list(w.f, CK_FALSE) == all);
    CHECK(slot_list(w.f, CK_TRUE).empty());
    for (CK_SLOT_ID id : all) {
        INFO("slot " << id);
        check_no_token(w.f, id);
    }
}

// --- 5. tokens ------------------------------------------------------------------------------

TEST_CASE("module: token info names both tokens and gives their PIN rules and flags", "[module]") {
    OneCard c;
    const CK_TOKEN_INFO auth = token_info(c.f, c.slots[0]);
    const CK_TOKEN_INFO sign = token_info(c.f, c.slots[1]);
    CHECK(field(auth.label) == padded("JPKI Authentication", 32));
    CHECK(field(sign.label) == padded("JPKI Signature", 32));
    CHECK(field(auth.label).find(':') == std::string::npos);
    CHECK(field(sign.label).find(':') == std::string::npos);
    for (const CK_TOKEN_INFO* t : {&auth, &sign}) {
        CHECK(field(t->manufacturerID) == padded("J-LIS", 32));
        CHECK(field(t->model) == padded("My Number Card", 16));
        const CK_FLAGS required = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
        CHECK((t->flags & required) == required);
        // Deliberately absent: CKF_WRITE_PROTECTED (read-write sessions must open), and no
        // counter flag on a fresh card, no protected authentication path, no RNG, no clock.
        CHECK((t->flags & CKF_WRITE_PROTECTED) == 0);
        CHECK((t->flags & kPinFlags) == 0);
        CHECK((t->flags & (CKF_PROTECTED_AUTHENTICATION_PATH | CKF_RNG | CKF_CLOCK_ON_TOKEN)) == 0);
    }
    CHECK(auth.ulMinPinLen == 4);
    CHECK(auth.ulMaxPinLen == 4);
    CHECK(sign.ulMinPinLen == 6);
    CHECK(sign.ulMaxPinLen == 16);
}

TEST_CASE("module: both tokens show the card's serial, different between cards", "[module]") {
    TwoCards c;
    const std::string s1 = card_config(1).serial, s2 = card_config(2).serial;
    REQUIRE(s1 != s2);
    CHECK(token_serial(c.f, c.slots[0]) == padded(s1, 16));
    CHECK(token_serial(c.f, c.slots[1]) == padded(s1, 16));
    CHECK(token_serial(c.f, c.slots[2]) == padded(s2, 16));
    CHECK(token_serial(c.f, c.slots[3]) == padded(s2, 16));
    for (CK_SLOT_ID id : c.slots) CHECK(token_serial(c.f, id).rfind("00000000", 0) != 0);
}

TEST_CASE("module: read-write sessions open, and every write is refused", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = open_rw(c.f, c.slots[0]);
    CK_SESSION_INFO info{};
    REQUIRE(c.f->C_GetSessionInfo(s, &info) == CKR_OK);
    CHECK(info.state == CKS_RW_PUBLIC_SESSION);
    CHECK(info.flags == (CKF_SERIAL_SESSION | CKF_RW_SESSION));
    REQUIRE(login(c.f, s, kAuthPin) == CKR_OK);
    CHECK(session_state(c.f, s) == CKS_RW_USER_FUNCTIONS);

    CK_OBJECT_CLASS cls = CKO_DATA;
    CK_ATTRIBUTE attr{CKA_CLASS, &cls, sizeof cls};
    CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
    CHECK(c.f->C_CreateObject(s, &attr, 1, &obj) == CKR_TOKEN_WRITE_PROTECTED);
    auto objects = find(c.f, s, ~0UL);
    REQUIRE_FALSE(objects.empty());
    CHECK(c.f->C_DestroyObject(s, objects[0]) == CKR_TOKEN_WRITE_PROTECTED);
    CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE label{CKA_PRIVATE, &yes, sizeof yes};
    CHECK(c.f->C_SetAttributeValue(s, objects[0], &label, 1) == CKR_TOKEN_WRITE_PROTECTED);
    CK_MECHANISM gen{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE pub = CK_INVALID_HANDLE, priv = CK_INVALID_HANDLE;
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE pub_t{CKA_MODULUS_BITS, &bits, sizeof bits};
    CK_ATTRIBUTE priv_t{CKA_SIGN, &yes, sizeof yes};
    CHECK(c.f->C_GenerateKeyPair(s, &gen, &pub_t, 1, &priv_t, 1, &pub, &priv) == CKR_TOKEN_WRITE_PROTECTED);
    std::string so_pin = kAuthPin;
    std::string tlabel = padded("x", 32);
    CHECK(c.f->C_InitToken(c.slots[0], utf8(so_pin), so_pin.size(), utf8(tlabel)) == CKR_TOKEN_WRITE_PROTECTED);
    std::string new_pin = "5678";
    CHECK(c.f->C_InitPIN(s, utf8(new_pin), new_pin.size()) == CKR_USER_NOT_LOGGED_IN);
    // Nothing reached the card's PIN: no try was spent. (C_SetPIN, the one write the card
    // takes, is tested in module_set_pin_test.cpp.)
    CHECK(c.card->tries_left(false) == 3);
}

// --- 6. the PIN counters as token flags -----------------------------------------------------

TEST_CASE("module: wrong authentication PINs show COUNT_LOW, FINAL_TRY and LOCKED at once", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.auth_session();
    CHECK(pin_flags(c.f, c.slots[0]) == 0);

    CHECK(login(c.f, s, kWrongAuthPin) == CKR_PIN_INCORRECT);
    CHECK(pin_flags(c.f, c.slots[0]) == CKF_USER_PIN_COUNT_LOW);
    CHECK(login(c.f, s, kWrongAuthPin) == CKR_PIN_INCORRECT);
    CHECK(pin_flags(c.f, c.slots[0]) == kFinalTry);
    CHECK(login(c.f, s, kWrongAuthPin) == CKR_PIN_INCORRECT);
    check_pin_flags(c.f, c.slots, kLocked, 0);  // the signature token's own counter is untouched
    CHECK(c.card->tries_left(false) == 0);

    const SentToCard sent(*c.card);
    CHECK(login(c.f, s, kAuthPin) == CKR_PIN_LOCKED);
    CHECK(sent.pins() == 0);
    CHECK(sent.apdus() == 0);
    CHECK(session_state(c.f, s) == CKS_RO_PUBLIC_SESSION);
}

TEST_CASE("module: a PIN blocked before the module saw the card is refused without being sent", "[module]") {
    ModuleWorld w;
    const int r = w.add_card(1);
    auto card = w.readers.card(r);
    card->set_tries_left(false, 0);
    card->set_tries_left(true, 0);
    auto slots = initialize_and_list(w.f, 2);
    CK_SESSION_HANDLE auth = open_session(w.f, slots[0]);
    CK_SESSION_HANDLE sign = open_session(w.f, slots[1]);
    // No C_GetTokenInfo first: the module learns of the blocked PIN at C_Login.
    CHECK(login(w.f, auth, kAuthPin) == CKR_PIN_LOCKED);
    CHECK(login(w.f, sign, kSignPin) == CKR_PIN_LOCKED);
    CHECK(card->verify_with_data_count() == 0);
    check_pin_flags(w.f, slots, kLocked, kLocked);
}

TEST_CASE("module: C_GetTokenInfo reads the PIN counter without spending a try, and caches it", "[module]") {
    OneCard c;
    c.card->clear_log();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) token_info(c.f, c.slots[0]);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(c.card->tries_left(false) == 3);
    CHECK(c.card->verify_with_data_count() == 0);
    CHECK(empty_verify_count(*c.card) >= 1);  // the counter was read from the card
    // At most one read per second of calls (plus the first).
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(took).count();
    CHECK(empty_verify_count(*c.card) <= static_cast<std::size_t>(2 + seconds));
}

TEST_CASE("module: a PIN try spent in another process shows within about a second", "[module]") {
    OneCard c;
    REQUIRE(pin_flags(c.f, c.slots[0]) == 0);
    tries_left_elsewhere(*c.card, false, 1);  // two wrong PINs typed elsewhere
    CHECK(pin_flags(c.f, c.slots[0]) == kFinalTry);
    CHECK(c.card->verify_with_data_count() == 0);
}

TEST_CASE("module: the signature token's flags follow its five tries", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.sign_session();
    REQUIRE(pin_flags(c.f, c.slots[1]) == 0);
    CHECK(login(c.f, s, kWrongSignPin) == CKR_PIN_INCORRECT);
    CHECK(c.card->tries_left(true) == 4);
    // The authentication PIN is another counter.
    check_pin_flags(c.f, c.slots, 0, CKF_USER_PIN_COUNT_LOW);
    tries_left_elsewhere(*c.card, true, 2);
    CHECK(pin_flags(c.f, c.slots[1]) == CKF_USER_PIN_COUNT_LOW);
    tries_left_elsewhere(*c.card, true, 1);
    CHECK(pin_flags(c.f, c.slots[1]) == kFinalTry);
    tries_left_elsewhere(*c.card, true, 0);
    CHECK(pin_flags(c.f, c.slots[1]) == kLocked);
    const SentToCard sent(*c.card);
    CHECK(login(c.f, s, kSignPin) == CKR_PIN_LOCKED);
    CHECK(sent.pins() == 0);
}

// --- 7. sessions ----------------------------------------------------------------------------

TEST_CASE("module: C_OpenSession checks its flags, slot and arguments", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    w.add_empty_reader();
    auto all = initialize_and_list_all(w.f, 4);
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    CHECK(w.f->C_OpenSession(all[0], 0, nullptr, nullptr, &s) == CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    CHECK(w.f->C_OpenSession(all[0], CKF_RW_SESSION, nullptr, nullptr, &s) == CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    CHECK(w.f->C_OpenSession(all[0], CKF_SERIAL_SESSION, nullptr, nullptr, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(w.f->C_OpenSession(4, CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_SLOT_ID_INVALID);
    CHECK(w.f->C_OpenSession(all[2], CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_TOKEN_NOT_PRESENT);
    CHECK(w.f->C_OpenSession(all[3], CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_TOKEN_NOT_PRESENT);
    CHECK(s == CK_INVALID_HANDLE);
    // pApplication and Notify are accepted.
    int app = 0;
    CHECK(w.f->C_OpenSession(all[0], CKF_SERIAL_SESSION, &app, nullptr, &s) == CKR_OK);
    CHECK(s != CK_INVALID_HANDLE);
}

TEST_CASE("module: session handles are distinct and never reused after close", "[module]") {
    OneCard c;
    std::set<CK_SESSION_HANDLE> seen;
    for (int round = 0; round < 3; ++round) {
        std::vector<CK_SESSION_HANDLE> open;
        for (int i = 0; i < 6; ++i) {
            CK_SESSION_HANDLE s = open_session(c.f, c.slots[static_cast<std::size_t>(i % 2)]);
            CHECK(s != CK_INVALID_HANDLE);
            CHECK(seen.insert(s).second);
            open.push_back(s);
        }
        for (CK_SESSION_HANDLE s : open) CHECK(c.f->C_CloseSession(s) == CKR_OK);
    }
}

TEST_CASE("module: C_CloseSession of an unknown or closed handle answers CKR_SESSION_HANDLE_INVALID", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.auth_session();
    CHECK(c.f->C_CloseSession(CK_INVALID_HANDLE) == CKR_SESSION_HANDLE_INVALID);
    CHECK(c.f->C_CloseSession(s + 1000) == CKR_SESSION_HANDLE_INVALID);
    CHECK(c.f->C_CloseSession(s) == CKR_OK);
    CHECK(c.f->C_CloseSession(s) == CKR_SESSION_HANDLE_INVALID);
    CK_SESSION_INFO info{};
    CHECK(c.f->C_GetSessionInfo(s, &info) == CKR_SESSION_HANDLE_INVALID);
}

TEST_CASE("module: C_GetSessionInfo reports the slot, state and flags", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.sign_session();
    CK_SESSION_INFO info;
    std::memset(&info, 0xA5, sizeof info);
    REQUIRE(c.f->C_GetSessionInfo(s, &info) == CKR_OK);
    CHECK(info.slotID == c.slots[1]);
    CHECK(info.state == CKS_RO_PUBLIC_SESSION);
    CHECK(info.flags == CKF_SERIAL_SESSION);
    CHECK(info.ulDeviceError == 0);
    REQUIRE(login(c.f, s, kSignPin) == CKR_OK);
    REQUIRE(c.f->C_GetSessionInfo(s, &info) == CKR_OK);
    CHECK(info.state == CKS_RO_USER_FUNCTIONS);
    CHECK(info.slotID == c.slots[1]);
    CHECK(c.f->C_GetSessionInfo(s, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(c.f->C_GetSessionInfo(s + 1000, &info) == CKR_SESSION_HANDLE_INVALID);
}

TEST_CASE("module: C_CloseAllSessions closes only that slot's sessions", "[module]") {
    TwoCards c;
    CK_SESSION_HANDLE a1 = open_session(c.f, c.slots[0]);
    CK_SESSION_HANDLE a2 = open_rw(c.f, c.slots[0]);
    CK_SESSION_HANDLE sg = open_session(c.f, c.slots[1]);
    CK_SESSION_HANDLE other = open_session(c.f, c.slots[2]);
    CHECK(c.f->C_CloseAllSessions(c.slots[0]) == CKR_OK);
    CK_SESSION_INFO info{};
    CHECK(c.f->C_GetSessionInfo(a1, &info) == CKR_SESSION_HANDLE_INVALID);
    CHECK(c.f->C_GetSessionInfo(a2, &info) == CKR_SESSION_HANDLE_INVALID);
    CHECK(c.f->C_GetSessionInfo(sg, &info) == CKR_OK);
    CHECK(info.slotID == c.slots[1]);
    CHECK(c.f->C_GetSessionInfo(other, &info) == CKR_OK);
    CHECK(info.slotID == c.slots[2]);
    CHECK(c.f->C_CloseAllSessions(c.slots[0]) == CKR_OK);  // nothing left to close
    CHECK(c.f->C_CloseAllSessions(99) == CKR_SLOT_ID_INVALID);
}

// --- 8. login -------------------------------------------------------------------------------

TEST_CASE("module: a login belongs to the token: all its sessions, not the other token's", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s1 = c.auth_session();
    CK_SESSION_HANDLE s2 = open_rw(c.f, c.slots[0]);
    CK_SESSION_HANDLE other = c.sign_session();
    REQUIRE(login(c.f, s1, kAuthPin) == CKR_OK);
    CHECK(session_state(c.f, s1) == CKS_RO_USER_FUNCTIONS);
    CHECK(session_state(c.f, s2) == CKS_RW_USER_FUNCTIONS);
    CHECK(session_state(c.f, other) == CKS_RO_PUBLIC_SESSION);
    // A session opened after the login is logged in too.
    CK_SESSION_HANDLE s3 = c.auth_session();
    CHECK(session_state(c.f, s3) == CKS_RO_USER_FUNCTIONS);
}

TEST_CASE("module: C_Login on a logged-in token answers CKR_USER_ALREADY_LOGGED_IN", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s1 = c.auth_session();
    CK_SESSION_HANDLE s2 = c.auth_session();
    REQUIRE(login(c.f, s1, kAuthPin) == CKR_OK);
    const SentToCard sent(*c.card);
    CHECK(login(c.f, s1, kAuthPin) == CKR_USER_ALREADY_LOGGED_IN);
    CHECK(login(c.f, s2, kAuthPin) == CKR_USER_ALREADY_LOGGED_IN);
    CHECK(login(c.f, s2, kWrongAuthPin) == CKR_USER_ALREADY_LOGGED_IN);
    CHECK(sent.pins() == 0);
    CHECK(c.card->tries_left(false) == 3);
}

TEST_CASE("module: C_Logout makes the token's sessions public; without a login it is refused", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s1 = c.auth_session();
    CK_SESSION_HANDLE s2 = c.auth_session();
    CHECK(c.f->C_Logout(s1) == CKR_USER_NOT_LOGGED_IN);
    REQUIRE(login(c.f, s1, kAuthPin) == CKR_OK);
    CHECK(c.f->C_Logout(s2) == CKR_OK);  // any session of the token logs it out
    CHECK(session_state(c.f, s1) == CKS_RO_PUBLIC_SESSION);
    CHECK(session_state(c.f, s2) == CKS_RO_PUBLIC_SESSION);
    CHECK(c.f->C_Logout(s1) == CKR_USER_NOT_LOGGED_IN);
    CHECK(c.f->C_Logout(s1 + 1000) == CKR_SESSION_HANDLE_INVALID);
    CHECK(login(c.f, s2, kAuthPin) == CKR_OK);  // and logs in again
}

TEST_CASE("module: closing a token's last session logs it out", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE sign = c.logged_in_sign_session();

    SECTION("with C_CloseSession") {
        CK_SESSION_HANDLE s1 = c.auth_session();
        CK_SESSION_HANDLE s2 = c.auth_session();
        REQUIRE(login(c.f, s1, kAuthPin) == CKR_OK);
        REQUIRE(c.f->C_CloseSession(s1) == CKR_OK);
        CHECK(session_state(c.f, s2) == CKS_RO_USER_FUNCTIONS);  // not the last one yet
        REQUIRE(c.f->C_CloseSession(s2) == CKR_OK);
    }
    SECTION("with C_CloseAllSessions") {
        CK_SESSION_HANDLE s1 = c.auth_session();
        c.auth_session();
        REQUIRE(login(c.f, s1, kAuthPin) == CKR_OK);
        REQUIRE(c.f->C_CloseAllSessions(c.slots[0]) == CKR_OK);
    }
    CK_SESSION_HANDLE fresh = c.auth_session();
    CHECK(session_state(c.f, fresh) == CKS_RO_PUBLIC_SESSION);
    CHECK(c.f->C_Logout(fresh) == CKR_USER_NOT_LOGGED_IN);
    CHECK(session_state(c.f, sign) == CKS_RO_USER_FUNCTIONS);  // the other token stays logged in
}

TEST_CASE("module: malformed PINs are refused by format and never sent to the card", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE auth = c.auth_session();
    CK_SESSION_HANDLE sign = c.sign_session();
    token_info(c.f, c.slots[0]);
    token_info(c.f, c.slots[1]);
    // PKCS#11 lists CKR_PIN_INCORRECT for C_Login, not CKR_PIN_LEN_RANGE / CKR_PIN_INVALID:
    // NSS and GnuTLS ask again only on it. The trace names the rule, not the PIN.
    struct Case {
        CK_SESSION_HANDLE s;
        std::string pin;
        const char* rule;
    };
    const Case cases[] = {
        {auth, kThreeDigitPin, "the authentication PIN has exactly 4 characters"},
        {auth, kFiveDigitPin, "the authentication PIN has exactly 4 characters"},
        {auth, "", "the authentication PIN has exactly 4 characters"},
        {auth, kPinWithLetter, "the authentication PIN is digits 0-9 only"},
        {auth, kPinWithSpace, "the authentication PIN is digits 0-9 only"},
        {sign, kSignPinWithSymbol, "the signature password is A-Z and 0-9 only"},
        {sign, kThreeLetterPin, "the signature password has 6 to 16 characters"},
        {sign, kFiveLetterPin, "the signature password has 6 to 16 characters"},
        {sign, kSeventeenCharPin, "the signature password has 6 to 16 characters"},
    };
    const CK_FLAGS auth_flags = token_info(c.f, c.slots[0]).flags;
    const CK_FLAGS sign_flags = token_info(c.f, c.slots[1]).flags;
    const SentToCard sent(*c.card);
    CapturedTrace trace;
    for (const Case& attempt : cases) {
        INFO("PIN '" << attempt.pin << "'");
        CHECK(login(c.f, attempt.s, attempt.pin) == CKR_PIN_INCORRECT);
        const std::string traced = trace.take();
        CHECK_THAT(traced, Catch::Matchers::Contains(std::string("C_Login: PIN refused before sending, "
                                                                          "nothing sent, no try spent: ") +
                                                              attempt.rule));
        if (!attempt.pin.empty()) CHECK_THAT(traced, !Catch::Matchers::Contains(attempt.pin));
        CHECK(session_state(c.f, attempt.s) == CKS_RO_PUBLIC_SESSION);
    }
    CHECK(sent.apdus() == 0);
    CHECK(c.card->tries_left(false) == 3);
    CHECK(c.card->tries_left(true) == 5);
    CHECK(token_info(c.f, c.slots[0]).flags == auth_flags);
    CHECK(token_info(c.f, c.slots[1]).flags == sign_flags);
    check_pin_flags(c.f, c.slots, 0, 0);
    // The right PIN still logs in at once: nothing was counted against it.
    CHECK(login(c.f, auth, kAuthPin) == CKR_OK);
}

TEST_CASE("module: the signature password is accepted in lower case", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.sign_session();
    CHECK(login(c.f, s, kSignPinLowerCase) == CKR_OK);
    CHECK(session_state(c.f, s) == CKS_RO_USER_FUNCTIONS);
    CHECK(c.card->tries_left(true) == 5);
}

TEST_CASE("module: C_Login checks its user type and PIN pointer", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.auth_session();
    const SentToCard sent(*c.card);
    CHECK(c.f->C_Login(s, CKU_USER, nullptr, 4) == CKR_ARGUMENTS_BAD);
    CHECK(login(c.f, s, kAuthPin, CKU_SO) == CKR_USER_TYPE_INVALID);
    CHECK(login(c.f, s, kAuthPin, 42) == CKR_USER_TYPE_INVALID);
    CHECK(login(c.f, s, kAuthPin, CKU_CONTEXT_SPECIFIC) == CKR_OPERATION_NOT_INITIALIZED);
    CHECK(login(c.f, s + 1000, kAuthPin) == CKR_SESSION_HANDLE_INVALID);
    CHECK(sent.apdus() == 0);
    CHECK(session_state(c.f, s) == CKS_RO_PUBLIC_SESSION);
}

TEST_CASE("module: after C_Login the card's security status is cleared again", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE auth = c.auth_session();
    CK_SESSION_HANDLE sign = c.sign_session();
    CHECK(login(c.f, auth, kWrongAuthPin) == CKR_PIN_INCORRECT);
    CHECK_FALSE(c.card->auth_verified());
    const SentToCard sent(*c.card);
    REQUIRE(login(c.f, auth, kAuthPin) == CKR_OK);
    CHECK(sent.pins() == 1);
    CHECK_FALSE(c.card->auth_verified());
    CHECK(c.card->tries_left(false) == 3);  // the right PIN restored the counter
    REQUIRE(login(c.f, sign, kSignPin) == CKR_OK);
    CHECK_FALSE(c.card->sign_verified());
    CHECK_FALSE(c.card->auth_verified());
}

// --- 9. threads -----------------------------------------------------------------------------

TEST_CASE("module: eight threads use slots, tokens and sessions while a ninth logs in and out", "[module]") {
    ModuleWorld w;
    const int r = w.add_card(1);
    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    REQUIRE(w.f->C_Initialize(&args) == CKR_OK);
    const auto slots = slot_list(w.f, CK_TRUE);
    REQUIRE(slots.size() == 2);
    CK_FUNCTION_LIST_PTR f = w.f;

    std::atomic<int> failures{0};
    std::atomic<CK_RV> first_failure{CKR_OK};
    std::atomic<bool> workers_done{false};
    auto note = [&](CK_RV rv) {
        if (rv == CKR_OK) return;
        CK_RV none = CKR_OK;
        first_failure.compare_exchange_strong(none, rv);
        ++failures;
    };
    std::atomic<bool> logger_ready{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            while (!logger_ready) std::this_thread::yield();  // start together with the logger
            for (int i = 0; i < 200; ++i) {
                CK_ULONG n = 0;
                note(f->C_GetSlotList(CK_TRUE, nullptr, &n));
                CK_SLOT_ID ids[8];
                n = 8;
                note(f->C_GetSlotList(CK_TRUE, ids, &n));
                if (n != 2) note(CKR_GENERAL_ERROR);
                const CK_SLOT_ID slot = slots[static_cast<std::size_t>((i + t) % 2)];
                CK_TOKEN_INFO tok;
                note(f->C_GetTokenInfo(slot, &tok));
                CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
                note(f->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s));
                CK_SESSION_INFO info;
                note(f->C_GetSessionInfo(s, &info));
                if (info.slotID != slot) note(CKR_GENERAL_ERROR);
                note(f->C_CloseSession(s));
            }
        });
    }
    std::atomic<int> login_rounds{0};
    std::thread logger([&] {
        CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
        note(f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, nullptr, nullptr, &s));
        std::string pin = kAuthPin;
        logger_ready = true;
        while (!workers_done && login_rounds < 2000) {
            note(f->C_Login(s, CKU_USER, utf8(pin), pin.size()));
            note(f->C_Logout(s));
            ++login_rounds;
        }
        note(f->C_CloseSession(s));
    });
    for (auto& t : threads) t.join();
    workers_done = true;
    logger.join();
    INFO("first failure: 0x" << std::hex << first_failure.load());
    CHECK(failures.load() == 0);
    CHECK(login_rounds.load() > 0);
    CHECK(w.readers.card(r)->tries_left(false) == 3);
}

// --- 10. fork -------------------------------------------------------------------------------

TEST_CASE("module: a forked child finds the module uninitialised and can initialise it again", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    CK_FUNCTION_LIST_PTR f = c.f;

    // The child (no Catch2 there): each failed step returns an exit code of its own.
    const auto child = [&] {
        CK_ULONG n = 0;
        if (f->C_GetSlotList(CK_TRUE, nullptr, &n) != CKR_CRYPTOKI_NOT_INITIALIZED) return 10;
        CK_SESSION_INFO info;
        if (f->C_GetSessionInfo(s, &info) != CKR_CRYPTOKI_NOT_INITIALIZED) return 11;
        // The inherited state was dropped by the call above: nothing is left to finalize.
        if (f->C_Finalize(nullptr) != CKR_CRYPTOKI_NOT_INITIALIZED) return 12;
        if (f->C_Initialize(nullptr) != CKR_OK) return 13;
        n = 0;
        if (f->C_GetSlotList(CK_TRUE, nullptr, &n) != CKR_OK || n != 2) return 14;
        // The parent's session and login are not the child's.
        if (f->C_GetSessionInfo(s, &info) != CKR_SESSION_HANDLE_INVALID) return 15;
        CK_SESSION_HANDLE mine = CK_INVALID_HANDLE;
        if (f->C_OpenSession(c.slots[0], CKF_SERIAL_SESSION, nullptr, nullptr, &mine) != CKR_OK) return 16;
        if (f->C_GetSessionInfo(mine, &info) != CKR_OK || info.state != CKS_RO_PUBLIC_SESSION) return 17;
        if (f->C_Finalize(nullptr) != CKR_OK) return 18;
        return 0;
    };
    CHECK(run_in_child(child, 20s) == 0);
    // The parent goes on as before: same session, still logged in.
    CHECK(session_state(c.f, s) == CKS_RO_USER_FUNCTIONS);
    CHECK(slot_list(c.f, CK_TRUE) == c.slots);
    token_info(c.f, c.slots[0]);
    CHECK(c.f->C_Logout(s) == CKR_OK);
}

TEST_CASE("module: C_Finalize in a forked child releases the inherited state with CKR_OK", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE s = c.logged_in_auth_session();
    CK_FUNCTION_LIST_PTR f = c.f;

    const auto child = [f] {
        if (f->C_Finalize(nullptr) != CKR_OK) return 20;
        if (f->C_Finalize(nullptr) != CKR_CRYPTOKI_NOT_INITIALIZED) return 21;
        if (f->C_Initialize(nullptr) != CKR_OK) return 22;
        CK_ULONG n = 0;
        if (f->C_GetSlotList(CK_TRUE, nullptr, &n) != CKR_OK || n != 2) return 23;
        if (f->C_Finalize(nullptr) != CKR_OK) return 24;
        return 0;
    };
    CHECK(run_in_child(child, 20s) == 0);
    CHECK(session_state(c.f, s) == CKS_RO_USER_FUNCTIONS);
}

// --- 11. C_WaitForSlotEvent -----------------------------------------------------------------

TEST_CASE("module: C_WaitForSlotEvent with CKF_DONT_BLOCK answers CKR_NO_EVENT when nothing happened", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    drain_events(w.f);
    CK_SLOT_ID slot = 12345;
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr) == CKR_NO_EVENT);
    slot_list(w.f, CK_TRUE);  // looking at the slots is no event either
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr) == CKR_NO_EVENT);
}

TEST_CASE("module: C_WaitForSlotEvent reports the slots of a reader whose card left", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    const int r2 = w.add_card(2);
    const auto all = initialize_and_list_all(w.f, 4);
    drain_events(w.f);
    w.readers.remove(r2);
    const auto events = drain_events(w.f);
    CHECK(std::set<CK_SLOT_ID>(events.begin(), events.end()) == std::set<CK_SLOT_ID>{all[2], all[3]});
}

TEST_CASE("module: a blocking C_WaitForSlotEvent wakes up when a card is inserted", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    const int empty = w.add_empty_reader();
    const auto all = initialize_and_list_all(w.f, 4);
    drain_events(w.f);
    CK_FUNCTION_LIST_PTR f = w.f;
    auto waiter = std::async(std::launch::async, [f] {
        CK_SLOT_ID slot = ~0UL;
        const CK_RV rv = f->C_WaitForSlotEvent(0, &slot, nullptr);
        return std::make_pair(rv, slot);
    });
    CHECK(waiter.wait_for(200ms) == std::future_status::timeout);  // nothing happened yet
    w.readers.insert(empty, card_config(2));
    const bool woke = waiter.wait_for(5s) == std::future_status::ready;
    if (!woke) w.f->C_Finalize(nullptr);  // unblock it before the future is destroyed
    REQUIRE(woke);
    const auto [rv, slot] = waiter.get();
    CHECK(rv == CKR_OK);
    CHECK((slot == all[2] || slot == all[3]));
    CHECK(slot_list(w.f, CK_TRUE) == all);
}

TEST_CASE("module: C_Finalize wakes a blocked C_WaitForSlotEvent with CKR_CRYPTOKI_NOT_INITIALIZED", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    drain_events(w.f);
    CK_FUNCTION_LIST_PTR f = w.f;
    auto waiter = std::async(std::launch::async, [f] {
        CK_SLOT_ID slot = ~0UL;
        return f->C_WaitForSlotEvent(0, &slot, nullptr);
    });
    CHECK(waiter.wait_for(200ms) == std::future_status::timeout);  // really blocked
    REQUIRE(w.f->C_Finalize(nullptr) == CKR_OK);
    const bool woke = waiter.wait_for(5s) == std::future_status::ready;
    if (!woke) w.add_empty_reader();  // a reader event, so that the waiter can leave at all
    REQUIRE(woke);
    CHECK(waiter.get() == CKR_CRYPTOKI_NOT_INITIALIZED);
    // And the module initialises again afterwards.
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CHECK(slot_list(w.f, CK_TRUE).size() == 2);
}

TEST_CASE("module: C_WaitForSlotEvent checks its arguments", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CK_SLOT_ID slot = 0;
    int something = 0;
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, &something) == CKR_ARGUMENTS_BAD);
    CHECK(w.f->C_WaitForSlotEvent(0, &slot, &something) == CKR_ARGUMENTS_BAD);
    CHECK(w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, nullptr, nullptr) == CKR_ARGUMENTS_BAD);
    CHECK(w.f->C_WaitForSlotEvent(0, nullptr, nullptr) == CKR_ARGUMENTS_BAD);
}

// --- 12. card removal and a new card in the same reader -------------------------------------

TEST_CASE("module: a removed card ends its sessions; a new card in the reader is a fresh token", "[module]") {
    OneCard c;
    CK_SESSION_HANDLE auth = c.auth_session();
    CK_SESSION_HANDLE sign = open_rw(c.f, c.slots[1]);
    CHECK(login(c.f, sign, kWrongSignPin) == CKR_PIN_INCORRECT);
    REQUIRE(pin_flags(c.f, c.slots[1]) == CKF_USER_PIN_COUNT_LOW);
    REQUIRE(login(c.f, auth, kAuthPin) == CKR_OK);

    c.readers.remove(c.reader);
    CK_SESSION_INFO info{};
    const CK_RV first = c.f->C_GetSessionInfo(auth, &info);
    CHECK((first == CKR_DEVICE_REMOVED || first == CKR_SESSION_HANDLE_INVALID));
    CHECK(c.f->C_GetSessionInfo(auth, &info) == CKR_SESSION_HANDLE_INVALID);
    const CK_RV first_sign = c.f->C_GetSessionInfo(sign, &info);
    CHECK((first_sign == CKR_DEVICE_REMOVED || first_sign == CKR_SESSION_HANDLE_INVALID));
    CHECK(c.f->C_GetSessionInfo(sign, &info) == CKR_SESSION_HANDLE_INVALID);
    CK_TOKEN_INFO tok{};
    CHECK(c.f->C_GetTokenInfo(c.slots[0], &tok) == CKR_TOKEN_NOT_PRESENT);
    CHECK(c.f->C_GetTokenInfo(c.slots[1], &tok) == CKR_TOKEN_NOT_PRESENT);
    CK_SESSION_HANDLE none = CK_INVALID_HANDLE;
    CHECK(c.f->C_OpenSession(c.slots[0], CKF_SERIAL_SESSION, nullptr, nullptr, &none) == CKR_TOKEN_NOT_PRESENT);
    CHECK(slot_list(c.f, CK_TRUE).empty());

    auto card2 = c.readers.insert(c.reader, card_config(2));
    card2->set_tries_left(false, 1);  // the new card's own counter
    CHECK(slot_list(c.f, CK_TRUE) == c.slots);
    CHECK(token_serial(c.f, c.slots[0]) == padded(card_config(2).serial, 16));
    CHECK(token_serial(c.f, c.slots[1]) == padded(card_config(2).serial, 16));
    check_pin_flags(c.f, c.slots, kFinalTry, 0);  // card 1's wrong signature PIN is not card 2's
    CK_SESSION_HANDLE fresh = c.auth_session();
    CHECK(session_state(c.f, fresh) == CKS_RO_PUBLIC_SESSION);
    CHECK(c.f->C_Logout(fresh) == CKR_USER_NOT_LOGGED_IN);
    CHECK(c.f->C_GetSessionInfo(auth, &info) == CKR_SESSION_HANDLE_INVALID);  // old handles stay dead
}

// --- 13. a card that does not answer --------------------------------------------------------

TEST_CASE("module: a card that does not answer gives slots without a token", "[module]") {
    ModuleWorld w;
    const int mute = w.add_card(1);
    w.add_card(2);
    w.readers.card(mute)->inject_fault(sim::Fault::Mute, 1);
    const auto all = initialize_and_list_all(w.f, 4);
    CHECK(slot_list(w.f, CK_TRUE) == std::vector<CK_SLOT_ID>{all[2], all[3]});
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    for (std::size_t i = 0; i < 2; ++i) {
        INFO("slot " << all[i]);
        check_no_token(w.f, all[i]);
        CHECK(w.f->C_OpenSession(all[i], CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_TOKEN_NOT_PRESENT);
    }
    // The other reader's card works as usual.
    CHECK(token_serial(w.f, all[2]) == padded(card_config(2).serial, 16));
    s = open_session(w.f, all[2]);
    CHECK(login(w.f, s, kAuthPin) == CKR_OK);
    // Taken out and put back, the card is identified again.
    w.readers.insert(mute, card_config(1));
    CHECK(slot_list(w.f, CK_TRUE) == all);
    CHECK(token_serial(w.f, all[0]) == padded(card_config(1).serial, 16));
}

// --- regressions --------------------------------------------------------------------------------

// A new card is identified outside the module lock; calls meanwhile must neither identify it
// again nor wait for it (this once happened: a call waited for a whole identification, and the
// card got every APDU twice).
TEST_CASE("module: a card being identified is identified once, and calls about other cards do not wait for it",
          "[module]") {
    ModuleWorld w;
    w.add_card(2);
    const int empty = w.add_empty_reader();
    auto slots = initialize_and_list(w.f, 2);
    CK_SESSION_HANDLE s = open_session(w.f, slots[0]);
    auto slow = card_config(1);
    slow.apdu_latency_ms = 100;  // identified in about 1.2 s: within the bound a lister waits
    auto card = w.readers.insert(empty, slow);
    CK_FUNCTION_LIST_PTR f = w.f;
    auto lister = std::async(std::launch::async, [f] {
        CK_ULONG n = 0;
        const CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &n);
        return std::make_pair(rv, n);
    });
    std::this_thread::sleep_for(100ms);  // the lister is identifying the new card now
    const auto start = std::chrono::steady_clock::now();
    CK_SESSION_INFO info{};
    CHECK(w.f->C_GetSessionInfo(s, &info) == CKR_OK);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(lister.wait_for(20s) == std::future_status::ready);
    const auto [rv, n] = lister.get();
    CHECK(rv == CKR_OK);
    CHECK(n == 4);
    // Identification takes 12 APDUs of 100 ms: a call that waited for it took over a second.
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 750);
    // SELECT of the JPKI AP by name: one per identification.
    CHECK(count_commands(*card, 0xA4, [](const sim::LoggedApdu& l) { return l.header[2] == 0x04; }) == 1);
}

// PKCS#11 2.40 lists CKR_TOKEN_NOT_PRESENT for C_InitToken: on a slot without a token there is
// nothing to protect (the module once answered CKR_TOKEN_WRITE_PROTECTED here).
TEST_CASE("module: C_InitToken on a slot without a token answers CKR_TOKEN_NOT_PRESENT", "[module]") {
    ModuleWorld w;
    w.add_empty_reader();
    const auto all = initialize_and_list_all(w.f, 2);
    std::string pin = kAuthPin;
    std::string label = padded("x", 32);
    CHECK(w.f->C_InitToken(all[0], utf8(pin), pin.size(), utf8(label)) == CKR_TOKEN_NOT_PRESENT);
    CHECK(w.f->C_InitToken(all[1], utf8(pin), pin.size(), utf8(label)) == CKR_TOKEN_NOT_PRESENT);
}

TEST_CASE("module: a card arriving between the two C_GetSlotList calls does not break the second", "[module]") {
    ModuleWorld w;
    w.add_card(1);
    const int empty = w.add_empty_reader();
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CK_ULONG n = 0;
    REQUIRE(w.f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
    CHECK(n == 2);
    w.readers.insert(empty, card_config(2));
    std::vector<CK_SLOT_ID> slots(n);
    CHECK(w.f->C_GetSlotList(CK_TRUE, slots.data(), &n) == CKR_OK);  // the same slots as counted
    CHECK(n == 2);
    // The next length query sees the new card.
    REQUIRE(w.f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
    CHECK(n == 4);
}
