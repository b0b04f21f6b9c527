// The card layer through the real stack: pcscd + vpcd + jpki-sim, started by
// test/harness/pcsc-harness.sh --cards 2 (which points PCSCLITE_CSOCK_NAME at its private
// pcscd and exports JPKI_SIM_PID_<n> and JPKI_SIM_LOG_<n>).
#include "card/card_error.h"
#include "card/jpki_app.h"
#include "pcsc/pcsc_transport.h"
#include "pcsc/reader_monitor.h"
#include "test/common/test_support.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>
#include <fstream>
#include <string>
#include <chrono>
#include <thread>

using namespace jpki;

namespace {

const Pin kAuthPin = Pin::parse(PinRef::Auth, test::kAuthPin);
const Pin kSignPin = Pin::parse(PinRef::Sign, test::kSignPin);

std::string env(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    if (!v) FAIL("not run by pcsc-harness.sh: " << name << " unset");
    return v;
}

// Readers with a card, in pcscd's order (card 1 is in the first vpcd reader).
std::vector<std::string> readers_with_cards() {
    ReaderMonitor monitor;
    monitor.refresh();
    std::vector<std::string> out;
    for (const auto& r : monitor.readers())
        if (r.card_present) out.push_back(r.name);
    return out;
}

// Waits (bounded) until `n` cards are present.
bool wait_for_cards(std::size_t n) {
    ReaderMonitor monitor;
    for (int i = 0; i < 100; ++i) {
        monitor.wait_for_change(100);
        std::size_t present = 0;
        for (const auto& r : monitor.readers()) present += r.card_present;
        if (present == n) return true;
    }
    return false;
}

Bytes file(const std::string& name, int card) { return test::read_file(test::pki_card_dir(card) + "/" + name); }

std::size_t verify_lines_with_data(int card) {
    std::ifstream log(env("JPKI_SIM_LOG_" + std::to_string(card)));
    std::size_t n = 0;
    for (std::string line; std::getline(log, line);)
        if (line.rfind("00 20 00", 0) == 0 && line.find("Lc=0") == std::string::npos) ++n;
    return n;
}

}  // namespace

TEST_CASE("pcsc: two simulated cards in two readers, told apart by certificate and serial", "[pcsc]") {
    REQUIRE(wait_for_cards(2));
    auto readers = readers_with_cards();
    REQUIRE(readers.size() == 2);
    PcscContext ctx;
    for (int n = 1; n <= 2; ++n) {
        PcscTransport t(ctx, readers[static_cast<std::size_t>(n - 1)]);
        CHECK(to_hex(t.atr()) == "3B E0 00 FF 81 31 FE 45 14");
        JpkiApp app(t);
        CHECK(app.read_certificate(CertFile::AuthCert) == file("auth_cert.der", n));
        CHECK(app.read_certificate(CertFile::AuthCa) == file("auth_ca.der", n));
        CHECK(app.read_certificate(CertFile::SignCa) == file("sign_ca.der", n));
        TokenInfo info = app.read_token_info();
        CHECK(info.kind == TokenKind::Card);
        std::ifstream serial(test::pki_card_dir(n) + "/serial.txt");
        std::string expected;
        std::getline(serial, expected);
        CHECK(info.serial == expected);
        CertAvailability avail = app.read_cert_availability();
        CHECK(avail.auth);
        CHECK(avail.sign);
    }
}

TEST_CASE("pcsc: PIN counters, VERIFY and signatures, with the card locked after each", "[pcsc]") {
    REQUIRE(wait_for_cards(2));
    PcscContext ctx;
    PcscTransport t(ctx, readers_with_cards().at(0));
    JpkiApp app(t);
    CHECK(app.pin_tries_left(PinRef::Auth) == 3);
    CHECK(app.pin_tries_left(PinRef::Sign) == 5);

    const Bytes di = test::sha256_digest_info(Bytes{'p', 'c', 's', 'c'});
    Bytes sig = app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di);
    CHECK(test::verify_pkcs1_raw(file("auth_cert.der", 1), di, sig));
    CHECK(app.last_operation().apdus == 7);  // the first one checks that the reset locked the card
    app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di);
    CHECK(app.last_operation().apdus == 4);
    Bytes sig2 = app.sign(kSignPin, KeyRef::Sign, SignScheme::Pkcs1, di);
    CHECK(test::verify_pkcs1_raw(file("sign_cert.der", 1), di, sig2));
    const Bytes hash = test::sha256(Bytes{'t', 'l', 's'});
    CHECK(test::verify_pss_sha256(file("auth_cert.der", 1), hash,
                                  app.sign(kAuthPin, KeyRef::Auth, SignScheme::PssSha256Hash, hash), 32));
    CHECK(app.read_certificate_with_pin(CertFile::SignCert, kSignPin) == file("sign_cert.der", 1));

    // The card was reset after each: a signature without VERIFY is refused, from a new
    // connection as from this one.
    PcscContext other_ctx;
    PcscTransport other(other_ctx, readers_with_cards().at(0));
    JpkiApp other_app(other);
    {
        auto s = other_app.open();
        CHECK_THROWS_WITH(s.sign(KeyRef::Auth, SignScheme::Pkcs1, di), Catch::Contains("6982"));
    }
    {
        auto s = app.open();
        CHECK_THROWS_WITH(s.sign(KeyRef::Sign, SignScheme::Pkcs1, di), Catch::Contains("6982"));
        CHECK_THROWS_WITH(s.read_certificate(CertFile::SignCert), Catch::Contains("6982"));
    }
}

TEST_CASE("pcsc: a wrong PIN costs one try, a blocked PIN is never sent", "[pcsc]") {
    REQUIRE(wait_for_cards(2));
    PcscContext ctx;
    PcscTransport t(ctx, readers_with_cards().at(1));  // card 2: this test locks its auth PIN
    JpkiApp app(t);
    const std::size_t before = verify_lines_with_data(2);
    const Pin wrong = Pin::parse(PinRef::Auth, "0000");
    for (int left = 2; left >= 0; --left) {
        try {
            app.check_pin(wrong);
            FAIL("wrong PIN accepted");
        } catch (const CardError& e) {
            CHECK(e.code() == CardErrc::PinIncorrect);
            CHECK(e.tries_left() == left);
        }
    }
    CHECK(app.pin_tries_left(PinRef::Auth) == 0);
    try {
        app.check_pin(kAuthPin);
        FAIL("blocked PIN accepted");
    } catch (const CardError& e) {
        CHECK(e.code() == CardErrc::PinBlocked);
    }
    // The simulator's APDU log shows exactly the three wrong VERIFYs, not the fourth.
    CHECK(verify_lines_with_data(2) == before + 3);
}

TEST_CASE("pcsc: a reset by another program is noticed and acknowledged", "[pcsc]") {
    REQUIRE(wait_for_cards(2));
    PcscContext ctx_a, ctx_b;
    const std::string reader = readers_with_cards().at(0);
    PcscTransport a(ctx_a, reader);
    PcscTransport b(ctx_b, reader);
    JpkiApp app_a(a);
    CHECK(app_a.pin_tries_left(PinRef::Auth) == 3);
    b.begin_transaction();
    b.reset_card();
    b.end_transaction();
    // a's next transaction meets SCARD_W_RESET_CARD, reconnects and works.
    CHECK(app_a.read_token_info().kind == TokenKind::Card);
}

// Card 1's simulator runs with --swap-pki card2: at SIGHUP it becomes card 2 (and back) in the
// same reader, which another program then resets. pcsc-lite keeps one pending event per
// handle, so this is how a pulled card and a new one reset by someone else look to us.
void swap_card1_behind_a_reset(const std::string& reader) {
    ::kill(static_cast<pid_t>(std::stol(env("JPKI_SIM_PID_1"))), SIGHUP);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the simulator takes the signal
    PcscContext ctx;
    PcscTransport other(ctx, reader);
    other.begin_transaction();
    other.reset_card();  // the simulator swaps at this message, then resets
    other.end_transaction();
}

TEST_CASE("pcsc: a card swapped behind a reset by another program is never sent the kept PIN", "[pcsc][pin]") {
    REQUIRE(wait_for_cards(2));
    const std::string reader1 = readers_with_cards().at(0);
    PcscContext ctx;
    PcscTransport t(ctx, reader1);
    JpkiApp app(t);
    const Bytes serial1 = test::read_file(test::pki_card_dir(1) + "/serial.txt");
    REQUIRE(app.identify().token_info.serial == std::string(serial1.begin(), serial1.end()));
    const Bytes di = test::sha256_digest_info(Bytes{21});
    app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di);  // the login
    const PinSource kept = PinSource::kept_since(app.epoch());

    swap_card1_behind_a_reset(reader1);
    const std::size_t before = verify_lines_with_data(1);
    try {
        app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di, kept);
        FAIL("the kept PIN reached another card");
    } catch (const CardError& e) {
        CHECK(e.code() == CardErrc::OtherCard);
    }
    CHECK(verify_lines_with_data(1) == before);

    // Back to the card identified: still, the reset by someone else means the kept PIN may
    // have changed, so it is not sent either.
    swap_card1_behind_a_reset(reader1);
    try {
        app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di, kept);
        FAIL("the kept PIN was sent after a reset by someone else");
    } catch (const CardError& e) {
        CHECK(e.code() == CardErrc::StalePin);
    }
    CHECK(verify_lines_with_data(1) == before);
    CHECK(app.pin_tries_left(PinRef::Auth) == 3);
}

TEST_CASE("pcsc: reader events: removal and insertion are seen, and a wait can be cancelled", "[pcsc]") {
    REQUIRE(wait_for_cards(2));
    const pid_t sim2 = static_cast<pid_t>(std::stol(env("JPKI_SIM_PID_2")));
    PcscContext ctx;
    const std::string reader2 = readers_with_cards().at(1);
    PcscTransport t(ctx, reader2);
    JpkiApp app(t);
    CHECK(app.read_token_info().kind == TokenKind::Card);

    ::kill(sim2, SIGUSR1);  // pull card 2 out
    REQUIRE(wait_for_cards(1));
    try {
        app.read_token_info();
        FAIL("a removed card answered");
    } catch (const CardError& e) {
        CHECK((e.code() == CardErrc::CardRemoved || e.code() == CardErrc::NoCard));
    }
    ::kill(sim2, SIGUSR2);  // and put it back
    REQUIRE(wait_for_cards(2));
    PcscTransport again(ctx, reader2);
    JpkiApp app2(again);
    CHECK(app2.read_token_info().kind == TokenKind::Card);

    ReaderMonitor monitor;
    monitor.refresh();
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        monitor.cancel();
    });
    bool cancelled = false;
    try {
        monitor.wait_for_change(-1);
    } catch (const CardError& e) {
        cancelled = e.code() == CardErrc::Cancelled;
    }
    canceller.join();
    CHECK(cancelled);
}

TEST_CASE("pcsc: a process that dies with the card unlocked leaves it locked", "[pcsc]") {
    REQUIRE(wait_for_cards(2));
    const std::string reader = readers_with_cards().at(0);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Verify inside a transaction, then die before the session's reset can run.
        try {
            PcscContext ctx;
            PcscTransport t(ctx, reader);
            JpkiApp app(t);
            auto s = app.open();
            s.verify(Pin::parse(PinRef::Auth, "1234"));  // the parent's PINs are wiped in a child
            ::kill(::getpid(), SIGKILL);
        } catch (...) {
        }
        _exit(3);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));  // it really died inside the transaction
    PcscContext ctx;
    PcscTransport t(ctx, reader);
    JpkiApp app(t);
    auto s = app.open();
    // pcscd reset the card when it cleaned up after the dead client.
    CHECK_THROWS_WITH(s.sign(KeyRef::Auth, SignScheme::Pkcs1, test::sha256_digest_info(Bytes{1})),
                      Catch::Contains("6982"));
}
