// What peer conformance suites (OpenSC's p11test, gtest-based API suites) and the newest
// clients expect beyond the everyday paths: slot events since C_Initialize only, arguments
// checked before state, PSS parameters, the PKCS#11 3.0 interfaces.
#include "test/module/module_fixture.h"

#include <catch2/catch.hpp>

#include <set>

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
