// Objects, attributes, mechanisms and signatures through the C function list.
#include "test/unit/module_fixture.h"

#include <catch2/catch.hpp>

using namespace jpki;
using namespace jpki::test;

TEST_CASE("module: the authentication token shows its certificates and public key before login", "[objects]") {
    ModuleWorld w;
    w.add_card(1);
    auto slots = initialize_and_list(w.f);
    CK_SESSION_HANDLE s = open_session(w.f, slots[0]);
    auto certs = find(w.f, s, CKO_CERTIFICATE);
    CHECK(certs.size() == 2);
    CHECK(find(w.f, s, CKO_PRIVATE_KEY).empty());
}
