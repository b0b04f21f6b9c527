// The card layer through the real stack: pcscd + vpcd + jpki-sim, started by
// test/harness/pcsc-harness.sh (which points PCSCLITE_CSOCK_NAME at its private pcscd).
#include "card/card_error.h"
#include "card/jpki_app.h"
#include "card/pcsc_transport.h"
#include "card/reader_monitor.h"
#include "test/unit/test_support.h"

#include <catch2/catch.hpp>

#include <memory>

using namespace jpki;

namespace {
// The first reader with a card in it.
std::string reader_with_card(int index = 0) {
    ReaderMonitor monitor;
    monitor.refresh();
    int seen = 0;
    for (const auto& r : monitor.readers())
        if (r.card_present && seen++ == index) return r.name;
    FAIL("no reader with a card");
    return {};
}
}  // namespace

TEST_CASE("pcsc: reads the authentication certificate", "[pcsc]") {
    PcscContext ctx;
    PcscTransport t(ctx, reader_with_card());
    JpkiApp app(t);
    CHECK(app.read_certificate(CertFile::AuthCert) == test::read_file(test::pki_card_dir(1) + "/auth_cert.der"));
}
