// The card layer's JPKI application against the in-process simulator.
#include "card/card_error.h"
#include "card/jpki_app.h"
#include "test/sim/sim_transport.h"
#include "test/unit/test_support.h"

#include <catch2/catch.hpp>

using namespace jpki;

TEST_CASE("app: reads the authentication certificate", "[app]") {
    sim::JpkiCard card(test::card_config());
    sim::SimTransport t(card);
    JpkiApp app(t);
    Bytes cert = app.read_certificate(CertFile::AuthCert);
    CHECK(cert == test::read_file(test::pki_card_dir() + "/auth_cert.der"));
}
