#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <stdexcept>
#include <utility>

namespace jpki::test {

namespace {
struct Loaded {
    void* handle = nullptr;
    CK_FUNCTION_LIST_PTR list = nullptr;
    sim::SimReaders* readers = nullptr;
};

Loaded& loaded() {
    static Loaded l = [] {
        Loaded x;
        x.handle = dlopen(JPKI_TEST_MODULE, RTLD_NOW | RTLD_LOCAL);
        if (!x.handle) throw std::runtime_error(std::string("dlopen: ") + dlerror());
        auto get = reinterpret_cast<CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR)>(dlsym(x.handle, "C_GetFunctionList"));
        auto sim = reinterpret_cast<sim::SimReaders* (*)()>(dlsym(x.handle, "jpki_test_sim_readers"));
        if (!get || !sim || get(&x.list) != CKR_OK) throw std::runtime_error("not a test module");
        x.readers = sim();
        return x;
    }();
    return l;
}
}  // namespace

CK_FUNCTION_LIST_PTR module() { return loaded().list; }
sim::SimReaders& sim_readers() { return *loaded().readers; }
std::string module_path() { return JPKI_TEST_MODULE; }
void* module_handle() { return loaded().handle; }

ModuleWorld::ModuleWorld() : f(module()), readers(sim_readers()) {
    f->C_Finalize(nullptr);  // whatever a previous test left
    readers.clear();
}

ModuleWorld::~ModuleWorld() {
    f->C_Finalize(nullptr);
    readers.clear();
}

int ModuleWorld::add_card(int n, sim::CardConfig config) {
    if (config.pki_dir == card_config(1).pki_dir && n != 1) {
        const auto base = card_config(n);
        config.pki_dir = base.pki_dir;
        config.serial = base.serial;
    }
    const int r = readers.add_reader("Sim Reader " + std::to_string(n) + "-" + std::to_string(reader_counter++));
    readers.insert(r, config);
    return r;
}

int ModuleWorld::add_empty_reader() { return readers.add_reader("Sim Empty Reader " + std::to_string(reader_counter++)); }

OneCard::OneCard(sim::CardConfig config) {
    const bool two_tokens = config.has_sign_cert;
    reader = add_card(1, std::move(config));
    slots = initialize_and_list(f, two_tokens ? 2 : 1);
    card = readers.card(reader);
    REQUIRE(card != nullptr);
}

CK_SESSION_HANDLE OneCard::auth_session() { return open_session(f, slots.at(0)); }
CK_SESSION_HANDLE OneCard::sign_session() { return open_session(f, slots.at(1)); }
CK_SESSION_HANDLE OneCard::logged_in_auth_session() { return logged_in_session(f, slots.at(0), kAuthPin); }
CK_SESSION_HANDLE OneCard::logged_in_sign_session() { return logged_in_session(f, slots.at(1), kSignPin); }

TwoCards::TwoCards() {
    add_card(1);
    add_card(2);
    slots = initialize_and_list(f, 4);
}

std::vector<CK_SLOT_ID> initialize_and_list(CK_FUNCTION_LIST_PTR f) {
    REQUIRE(f->C_Initialize(nullptr) == CKR_OK);
    CK_ULONG n = 0;
    REQUIRE(f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
    std::vector<CK_SLOT_ID> slots(n);
    REQUIRE(f->C_GetSlotList(CK_TRUE, slots.data(), &n) == CKR_OK);
    slots.resize(n);
    return slots;
}

std::vector<CK_SLOT_ID> initialize_and_list(CK_FUNCTION_LIST_PTR f, std::size_t expected) {
    auto slots = initialize_and_list(f);
    REQUIRE(slots.size() == expected);
    return slots;
}

CK_SESSION_HANDLE open_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) {
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    REQUIRE(f->C_OpenSession(slot, CKF_SERIAL_SESSION, nullptr, nullptr, &s) == CKR_OK);
    return s;
}

CK_RV login(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const std::string& pin, CK_USER_TYPE user) {
    return f->C_Login(s, user, reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())), pin.size());
}

CK_SESSION_HANDLE logged_in_session(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, const std::string& pin) {
    const CK_SESSION_HANDLE s = open_session(f, slot);
    REQUIRE(login(f, s, pin) == CKR_OK);
    return s;
}

CK_TOKEN_INFO token_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot) {
    CK_TOKEN_INFO info{};
    REQUIRE(f->C_GetTokenInfo(slot, &info) == CKR_OK);
    return info;
}

std::vector<CK_OBJECT_HANDLE> find(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls) {
    CK_ATTRIBUTE t{CKA_CLASS, &cls, sizeof cls};
    REQUIRE(f->C_FindObjectsInit(s, cls == ~0UL ? nullptr : &t, cls == ~0UL ? 0 : 1) == CKR_OK);
    std::vector<CK_OBJECT_HANDLE> out(16);
    CK_ULONG n = 0;
    REQUIRE(f->C_FindObjects(s, out.data(), out.size(), &n) == CKR_OK);
    out.resize(n);
    REQUIRE(f->C_FindObjectsFinal(s) == CKR_OK);
    return out;
}

Bytes attribute(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    REQUIRE(f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK);
    Bytes v(a.ulValueLen);
    a.pValue = v.data();
    REQUIRE(f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK);
    return v;
}

std::vector<CK_SLOT_ID> drain_events(CK_FUNCTION_LIST_PTR f) {
    std::vector<CK_SLOT_ID> got;
    for (int i = 0; i < 64; ++i) {
        CK_SLOT_ID slot = ~0UL;
        const CK_RV rv = f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &slot, nullptr);
        if (rv == CKR_NO_EVENT) return got;
        REQUIRE(rv == CKR_OK);
        got.push_back(slot);
    }
    FAIL("C_WaitForSlotEvent(CKF_DONT_BLOCK) never answered CKR_NO_EVENT");
    return got;
}

}  // namespace jpki::test
