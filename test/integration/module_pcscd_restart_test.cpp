// The shipped module (PC/SC) when pcscd goes away and comes back: the module notices, drops
// what it knew of the card, reconnects and works again. Runs last in pcsc_tests: it restarts
// the harness's pcscd (test/harness/pcsc-harness.sh exports JPKI_PCSCD_PID and _CONFIG).
#include "pkcs11/pkcs11.h"
#include "test/common/test_support.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace jpki;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    if (!v) FAIL("not run by pcsc-harness.sh: " << name << " unset");
    return v;
}

template <typename Pred>
bool eventually(Pred pred, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

// Stops the harness's pcscd and starts a new one on the same readers (it dies with us).
void restart_pcscd() {
    const pid_t old = static_cast<pid_t>(std::stol(env("JPKI_PCSCD_PID")));
    REQUIRE(::kill(old, SIGTERM) == 0);
    REQUIRE(eventually([&] { return ::kill(old, 0) != 0; }, 10));
    const std::string config = env("JPKI_PCSCD_CONFIG");
    const std::string log = env("JPKI_HARNESS_DIR") + "/pcscd-restarted.log";
    std::vector<std::string> args = {"/bin/sh", "-c",
                                     "exec setpriv --pdeathsig KILL -- pcscd --foreground --config '" + config +
                                         "' >'" + log + "' 2>&1 </dev/null"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ) == 0);
}

std::vector<CK_SLOT_ID> token_slots(CK_FUNCTION_LIST_PTR f) {
    CK_ULONG n = 0;
    if (f->C_GetSlotList(CK_TRUE, nullptr, &n) != CKR_OK) return {};
    std::vector<CK_SLOT_ID> slots(n);
    if (f->C_GetSlotList(CK_TRUE, slots.data(), &n) != CKR_OK) return {};
    slots.resize(n);
    return slots;
}

Bytes sign_with_auth_key(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, const Bytes& data) {
    CK_SESSION_HANDLE s;
    REQUIRE(f->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_OK);
    std::string pin = "1234";
    REQUIRE(f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size()) == CKR_OK);
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t{CKA_CLASS, &cls, sizeof cls};
    CK_OBJECT_HANDLE key;
    CK_ULONG n = 0;
    REQUIRE(f->C_FindObjectsInit(s, &t, 1) == CKR_OK);
    REQUIRE(f->C_FindObjects(s, &key, 1, &n) == CKR_OK);
    REQUIRE(f->C_FindObjectsFinal(s) == CKR_OK);
    REQUIRE(n == 1);
    CK_MECHANISM m{CKM_SHA256_RSA_PKCS, nullptr, 0};
    REQUIRE(f->C_SignInit(s, &m, key) == CKR_OK);
    Bytes sig(256);
    CK_ULONG len = sig.size();
    REQUIRE(f->C_Sign(s, const_cast<CK_BYTE_PTR>(data.data()), data.size(), sig.data(), &len) == CKR_OK);
    sig.resize(len);
    REQUIRE(f->C_CloseSession(s) == CKR_OK);
    return sig;
}

}  // namespace

CK_FUNCTION_LIST_PTR load_shipped_module() {
    void* h = dlopen(JPKI_SHIPPED_MODULE, RTLD_NOW | RTLD_LOCAL);
    REQUIRE(h);
    auto get = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(h, "C_GetFunctionList"));
    CK_FUNCTION_LIST_PTR f = nullptr;
    REQUIRE((get && get(&f) == CKR_OK));
    return f;
}

TEST_CASE("pcsc: two threads waiting for slot events freeze nothing, and C_Finalize wakes both", "[pcsc]") {
    CK_FUNCTION_LIST_PTR f = load_shipped_module();
    REQUIRE(f->C_Initialize(nullptr) == CKR_OK);
    CK_SLOT_ID slot;
    for (int i = 0; i < 20 && f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr) == CKR_OK; ++i) {
    }
    auto wait = [f] {
        CK_SLOT_ID s;
        return f->C_WaitForSlotEvent(0, &s, nullptr);
    };
    auto a = std::async(std::launch::async, wait);
    auto b = std::async(std::launch::async, wait);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    // Other calls go on while both wait (pcsc-lite freezes a process whose two threads block
    // on one context).
    const auto start = std::chrono::steady_clock::now();
    CHECK(token_slots(f).size() == 4);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));
    CHECK(a.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
    CHECK(f->C_Finalize(nullptr) == CKR_OK);
    REQUIRE(a.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
    REQUIRE(b.wait_for(std::chrono::seconds(3)) == std::future_status::ready);
    CHECK(a.get() == CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK(b.get() == CKR_CRYPTOKI_NOT_INITIALIZED);
}

TEST_CASE("pcsc: the module survives a pcscd restart: it reconnects and signs again", "[pcsc][restart]") {
    CK_FUNCTION_LIST_PTR f = load_shipped_module();
    REQUIRE(f->C_Initialize(nullptr) == CKR_OK);
    const Bytes data = {'r', 'e', 's', 't', 'a', 'r', 't'};
    const Bytes cert = test::read_file(test::pki_card_dir(1) + "/auth_cert.der");

    auto before = token_slots(f);
    REQUIRE(before.size() == 4);  // two cards, two tokens each
    CHECK(test::verify_pkcs1_raw(cert, test::sha256_digest_info(data), sign_with_auth_key(f, before[0], data)));
    CK_SESSION_HANDLE old_session;
    REQUIRE(f->C_OpenSession(before[0], CKF_SERIAL_SESSION, nullptr, nullptr, &old_session) == CKR_OK);

    restart_pcscd();

    // While pcscd is away or its readers come back, calls fail cleanly, never crash; then the
    // same slots have their tokens again, on new connections, and the card signs.
    auto signs_again = [&] {
        if (token_slots(f) != before) return false;
        CK_SESSION_HANDLE s;
        if (f->C_OpenSession(before[0], CKF_SERIAL_SESSION, nullptr, nullptr, &s) != CKR_OK) return false;
        std::string pin = "1234";
        const bool ok = f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(pin.data()), pin.size()) == CKR_OK;
        f->C_CloseSession(s);
        return ok;
    };
    REQUIRE(eventually(signs_again, 20));
    // The session opened before the restart belonged to the old connection: it is gone.
    CK_SESSION_INFO info;
    const CK_RV rv = f->C_GetSessionInfo(old_session, &info);
    CHECK((rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_DEVICE_REMOVED));
    CHECK(test::verify_pkcs1_raw(cert, test::sha256_digest_info(data), sign_with_auth_key(f, before[0], data)));
    CHECK(f->C_Finalize(nullptr) == CKR_OK);
}
