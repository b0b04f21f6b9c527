// C_GetSlotList and C_WaitForSlotEvent as the readers change: every call looks again (but the
// call right after a length query), and events the module queues itself wake a waiter.
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

using namespace jpki;
using namespace jpki::test;

namespace {

// C_GetSlotList(CK_TRUE) with a buffer at once, no length query first.
std::vector<CK_SLOT_ID> slots_with_token_no_length_query(CK_FUNCTION_LIST_PTR f) {
    CK_SLOT_ID buf[8];
    CK_ULONG n = 8;
    REQUIRE(f->C_GetSlotList(CK_TRUE, buf, &n) == CKR_OK);
    return std::vector<CK_SLOT_ID>(buf, buf + n);
}

CK_ULONG slot_count_length_query(CK_FUNCTION_LIST_PTR f) {
    CK_ULONG n = 0;
    REQUIRE(f->C_GetSlotList(CK_TRUE, nullptr, &n) == CKR_OK);
    return n;
}

}  // namespace

TEST_CASE("module: slots: C_GetSlotList with a buffer and no length query sees removal and insertion",
          "[slots]") {
    ModuleWorld w;
    const int r = w.add_card(1);
    initialize_and_list(w.f, 2);
    w.readers.remove(r);
    CHECK(slots_with_token_no_length_query(w.f).empty());  // the pulled card is not listed
    w.readers.insert(r, card_config(2));
    CHECK(slots_with_token_no_length_query(w.f).size() == 2);  // nor is the new one missed
}

TEST_CASE("module: slots: the call right after a length query answers for the same slots, once", "[slots]") {
    ModuleWorld w;
    const int r = w.add_card(1);
    initialize_and_list(w.f, 2);
    CHECK(slot_count_length_query(w.f) == 2);
    w.readers.remove(r);
    CK_SLOT_ID buf[8];
    CK_ULONG n = 1;  // too small: the snapshot stays for the retry
    CHECK(w.f->C_GetSlotList(CK_TRUE, buf, &n) == CKR_BUFFER_TOO_SMALL);
    CHECK(n == 2);
    n = 8;
    CHECK(w.f->C_GetSlotList(CK_TRUE, buf, &n) == CKR_OK);
    CHECK(n == 2);  // the length query's slots
    CHECK(slots_with_token_no_length_query(w.f).empty());  // and the next call looks again
}

TEST_CASE("module: slots: a blocked C_WaitForSlotEvent wakes for a token the module found late", "[slots]") {
    ModuleWorld w;
    const int r = w.add_card(1);
    // The first identification meets a card that does not answer: worth another try later.
    w.readers.card(r)->inject_fault(sim::Fault::Mute, 1);
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    CHECK(slot_count_length_query(w.f) == 0);
    CK_SLOT_ID ignored;
    while (w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ignored, nullptr) == CKR_OK) {
    }
    auto waiter = std::async(std::launch::async, [&] {
        CK_SLOT_ID slot = ~0UL;
        const CK_RV rv = w.f->C_WaitForSlotEvent(0, &slot, nullptr);
        return std::make_pair(rv, slot);
    });
    // No reader changes from here on: only the module knows the token is there, once a call
    // identifies it again (a failed identification is retried after a pause).
    CK_ULONG found = 0;
    for (int i = 0; i < 50 && found == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        found = slot_count_length_query(w.f);
    }
    CHECK(found == 2);
    const bool woke = waiter.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    CHECK(woke);
    if (!woke) {
        w.f->C_Finalize(nullptr);  // wakes the waiter
        return;
    }
    const auto [rv, slot] = waiter.get();
    CHECK(rv == CKR_OK);
    CHECK(slot < 2);
}

TEST_CASE("module: slots: a card slow to identify holds C_GetSlotList for a bounded time, then arrives as an event",
          "[slots]") {
    ModuleWorld w;
    w.add_card(2);
    const int empty = w.add_empty_reader();
    initialize_and_list(w.f, 2);
    CK_SLOT_ID ignored;
    while (w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &ignored, nullptr) == CKR_OK) {
    }
    auto slow = card_config(1);
    slow.apdu_latency_ms = 400;  // about 5 s to identify: longer than any call waits
    w.readers.insert(empty, slow);
    // The call answers without the slow card's tokens (it would have waited 5 s for them).
    CHECK(slot_count_length_query(w.f) == 2);
    // Its identification goes on; a later call finds the tokens, and an event says so.
    CK_ULONG found = 0;
    for (int i = 0; i < 100 && found != 4; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        found = slot_count_length_query(w.f);
    }
    CHECK(found == 4);
    std::vector<CK_SLOT_ID> events;
    for (CK_SLOT_ID s; w.f->C_WaitForSlotEvent(CKF_DONT_BLOCK, &s, nullptr) == CKR_OK && events.size() < 8;)
        events.push_back(s);
    CHECK(std::find(events.begin(), events.end(), CK_SLOT_ID{2}) != events.end());
}

TEST_CASE("module: slots: threads listing at once all wait for the card one of them identifies", "[slots]") {
    ModuleWorld w;
    auto slowish = card_config(1);
    slowish.apdu_latency_ms = 40;  // about half a second to identify: well inside the bound
    w.add_card(1, slowish);
    REQUIRE(w.f->C_Initialize(nullptr) == CKR_OK);
    // As pkcs11-tool --test-threads does: several threads ask for the slots with a token at once.
    std::vector<std::future<CK_ULONG>> listers;
    for (int i = 0; i < 4; ++i)
        listers.push_back(std::async(std::launch::async, [&] { return slot_count_length_query(w.f); }));
    for (auto& l : listers) CHECK(l.get() == 2);  // no thread is told the reader is empty
}
