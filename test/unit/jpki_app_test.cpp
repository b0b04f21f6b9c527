// The card layer's JPKI application: against the in-process simulator for behaviour, and
// against a scripted transport for status words and answers the simulator never gives.
#include "card/card_error.h"
#include "card/jpki_app.h"
#include "test/common/test_support.h"
#include "test/sim/sim_transport.h"
#include "test/unit/scripted_transport.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace jpki;
using jpki::test::ScriptedTransport;

namespace {

struct Fixture {
    explicit Fixture(sim::CardConfig config = test::card_config()) : card(std::move(config)), transport(card), app(transport) {}
    sim::JpkiCard card;
    sim::SimTransport transport;
    JpkiApp app;
};

CardErrc error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const CardError& e) {
        return e.code();
    }
    FAIL("no CardError thrown");
    return CardErrc::UnexpectedStatus;
}

Bytes file(const std::string& name, int card = 1) { return test::read_file(test::pki_card_dir(card) + "/" + name); }

std::size_t chunks(std::size_t size) { return (size + 255) / 256; }

const Pin kAuthPin = Pin::parse(PinRef::Auth, test::kAuthPin);
const Pin kSignPin = Pin::parse(PinRef::Sign, test::kSignPin);

}  // namespace

// --- files -----------------------------------------------------------------------------------

TEST_CASE("app: reads each public certificate with SELECT AP, SELECT EF and one READ per 256 bytes", "[app]") {
    Fixture f;
    for (auto [ef, name] : {std::pair{CertFile::AuthCert, "auth_cert.der"}, std::pair{CertFile::AuthCa, "auth_ca.der"},
                            std::pair{CertFile::SignCa, "sign_ca.der"}}) {
        const Bytes expected = file(name);
        CHECK(f.app.read_certificate(ef) == expected);
        CHECK(f.app.last_operation().apdus == 2 + chunks(expected.size()));
        // No filler read: exactly the certificate's bytes came back, plus a status word each.
        CHECK(f.app.last_operation().bytes_received == expected.size() + 2 * (2 + chunks(expected.size())));
    }
}

TEST_CASE("app: the signature certificate is refused before the sign PIN and read with it", "[app]") {
    Fixture f;
    CHECK(error_of([&] { f.app.read_certificate(CertFile::SignCert); }) == CardErrc::SecurityStatusNotSatisfied);
    CHECK(f.app.read_certificate_with_pin(CertFile::SignCert, kSignPin) == file("sign_cert.der"));
    CHECK_FALSE(f.card.sign_verified());  // locked again
    CHECK(f.transport.own_resets() == 1);
}

TEST_CASE("app: token info tells the kind of token and its serial", "[app]") {
    auto config = test::card_config(2);
    SECTION("a My Number Card") {
        Fixture f(config);
        TokenInfo info = f.app.read_token_info();
        CHECK(info.kind == TokenKind::Card);
        CHECK(info.label == "JPKIAPICCTOKEN2");
        CHECK(info.serial == config.serial);
        CHECK(info.model == "E16R01NJ");
        CHECK(f.app.last_operation().apdus == 3);
    }
    SECTION("the old Juki card") {
        config.token_label = "JPKIAPICCTOKEN";
        Fixture f(config);
        CHECK(f.app.read_token_info().kind == TokenKind::JukiCard);
    }
    SECTION("smartphone tokens") {
        config.token_label = "JPKIAPGPSETOKEN";
        Fixture a(config);
        CHECK(a.app.read_token_info().kind == TokenKind::AndroidSe);
        config.token_label = "JPKIAPIOSTOKEN";
        Fixture i(config);
        CHECK(i.app.read_token_info().kind == TokenKind::IPhone);
    }
}

TEST_CASE("app: EF 0008 says whether the signature certificate exists", "[app]") {
    auto config = test::card_config();
    Fixture both(config);
    CertAvailability a = both.app.read_cert_availability();
    CHECK(a.sign);
    CHECK(a.auth);
    config.has_sign_cert = false;
    Fixture child(config);
    CertAvailability c = child.app.read_cert_availability();
    CHECK_FALSE(c.sign);
    CHECK(c.auth);
}

TEST_CASE("app: a card without the JPKI AP is NotJpki", "[app]") {
    ScriptedTransport t;
    t.then("6A 82");
    JpkiApp app(t);
    CHECK(error_of([&] { app.read_token_info(); }) == CardErrc::NotJpki);
}

// --- PIN counters and VERIFY -----------------------------------------------------------------

TEST_CASE("app: the PIN counters are read without spending a try", "[app][pin]") {
    Fixture f;
    for (int i = 0; i < 5; ++i) {
        CHECK(f.app.pin_tries_left(PinRef::Auth) == 3);
        CHECK(f.app.pin_tries_left(PinRef::Sign) == 5);
    }
    CHECK(f.card.verify_with_data_count() == 0);
    CHECK(f.card.tries_left(false) == 3);
    CHECK(f.app.last_operation().apdus == 2);  // SELECT AP + empty VERIFY (short-EF form)
}

TEST_CASE("app: a right PIN verifies and the card is locked again at once", "[app][pin]") {
    Fixture f;
    f.app.check_pin(kAuthPin);
    CHECK_FALSE(f.card.auth_verified());
    CHECK(f.transport.own_resets() == 1);
    CHECK(f.app.cached_tries(PinRef::Auth) == 3);
}

TEST_CASE("app: wrong PINs count down, then the blocked PIN is never sent", "[app][pin]") {
    Fixture f;
    const Pin wrong = Pin::parse(PinRef::Auth, test::kWrongAuthPin);
    for (int left = 2; left >= 0; --left) {
        try {
            f.app.check_pin(wrong);
            FAIL("wrong PIN accepted");
        } catch (const CardError& e) {
            CHECK(e.code() == CardErrc::PinIncorrect);
            CHECK(e.tries_left() == left);
        }
        CHECK(f.card.tries_left(false) == left);
    }
    CHECK(f.card.verify_with_data_count() == 3);
    // Blocked: even the right PIN is not sent.
    try {
        f.app.check_pin(kAuthPin);
        FAIL("blocked PIN accepted");
    } catch (const CardError& e) {
        CHECK(e.code() == CardErrc::PinBlocked);
        CHECK(e.tries_left() == 0);
    }
    CHECK(f.card.verify_with_data_count() == 3);
    CHECK(f.app.pin_tries_left(PinRef::Auth) == 0);
}

TEST_CASE("app: one wrong VERIFY is one try: the layer never retries", "[app][pin]") {
    Fixture f;
    CHECK(error_of([&] { f.app.check_pin(Pin::parse(PinRef::Sign, "WRONG1")); }) == CardErrc::PinIncorrect);
    CHECK(f.card.verify_with_data_count() == 1);
    CHECK(f.card.tries_left(true) == 4);
}

TEST_CASE("app: a malformed PIN never reaches the card", "[app][pin]") {
    Fixture f;
    CHECK_THROWS_AS(f.app.check_pin(Pin::parse(PinRef::Auth, test::kFiveDigitPin)), CardError);
    CHECK_THROWS_AS(f.app.check_pin(Pin::parse(PinRef::Sign, "ABC!23")), CardError);
    CHECK(f.card.log().empty());
}

TEST_CASE("app: a card that has no short-EF forms is driven by SELECT + P2=80, spending no try", "[app][pin]") {
    auto config = test::card_config();
    config.sfi_verify = false;
    config.sfi_sign = false;
    Fixture f(config);
    CHECK(f.app.pin_tries_left(PinRef::Auth) == 3);
    const Bytes di = test::sha256_digest_info(Bytes{1, 2, 3});
    Bytes sig = f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di);
    CHECK(test::verify_pkcs1_raw(file("auth_cert.der"), di, sig));
    CHECK(f.card.tries_left(false) == 3);
    CHECK(f.card.verify_with_data_count() == 1);
    // Every VERIFY with data used P2=80: the short form was only ever tried empty.
    for (const auto& e : f.card.log())
        if (e.header[1] == 0x20 && e.lc > 0) CHECK(e.header[3] == 0x80);
    // Once known, the short forms are not tried again.
    f.card.clear_log();
    f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di);
    for (const auto& e : f.card.log()) CHECK(e.sw != 0x6A86);
}

TEST_CASE("app: a VERIFY refused with a P1-P2 error is not retried in another form", "[app][pin]") {
    ScriptedTransport t;
    t.then("90 00")    // SELECT AP
        .then("63 C3")  // empty VERIFY, short form works
        .then("6A 86")  // VERIFY with data refused
        .then("90 00").then("90 00").then("69 82");  // after the reset: SELECT AP, key EF, probe
    JpkiApp app(t);
    CHECK(error_of([&] { app.check_pin(kAuthPin); }) == CardErrc::WrongP1P2);
    REQUIRE(t.sent.size() == 6);
    CHECK(to_hex(t.sent[5]).rfind("80 2A 00 80 33 30 31 30 0D", 0) == 0);  // the probe is a signature, not a VERIFY
    CHECK(t.resets == 1);  // a PIN was sent: the card is reset whatever the answer
}

TEST_CASE("app: every VERIFY status word maps to its error", "[app][pin]") {
    struct Case {
        const char* sw;
        CardErrc code;
        int tries;
    };
    for (const Case& c : {Case{"63 C1", CardErrc::PinIncorrect, 1}, Case{"63 C0", CardErrc::PinIncorrect, 0},
                          Case{"69 83", CardErrc::PinBlocked, 0}, Case{"69 84", CardErrc::PinBlocked, 0},
                          Case{"67 00", CardErrc::WrongLength, -1}, Case{"6A 88", CardErrc::WrongP1P2, -1},
                          Case{"69 82", CardErrc::SecurityStatusNotSatisfied, -1},
                          Case{"6F 00", CardErrc::UnexpectedStatus, -1}}) {
        ScriptedTransport t;
        t.then("90 00").then("63 C3").then(c.sw);
        JpkiApp app(t);
        try {
            app.check_pin(kAuthPin);
            FAIL("accepted with " << c.sw);
        } catch (const CardError& e) {
            CHECK(e.code() == c.code);
            CHECK(e.tries_left() == c.tries);
        }
    }
}

TEST_CASE("app: the PIN counter query maps blocked and odd answers", "[app][pin]") {
    SECTION("6984 means blocked") {
        ScriptedTransport t;
        t.then("90 00").then("69 84");
        JpkiApp app(t);
        CHECK(app.pin_tries_left(PinRef::Sign) == 0);
    }
    SECTION("a counter above the maximum is malformed") {
        ScriptedTransport t;
        t.then("90 00").then("63 C9");
        JpkiApp app(t);
        CHECK(error_of([&] { app.pin_tries_left(PinRef::Auth); }) == CardErrc::MalformedResponse);
    }
    SECTION("a blocked counter stops the PIN before it is sent") {
        ScriptedTransport t;
        t.then("90 00").then("63 C0");
        JpkiApp app(t);
        CHECK(error_of([&] { app.check_pin(kAuthPin); }) == CardErrc::PinBlocked);
        CHECK(t.sent.size() == 2);
        CHECK(t.resets == 0);
    }
}

// --- signatures ------------------------------------------------------------------------------

TEST_CASE("app: signs a DigestInfo with either key in four APDUs, and the card is locked after", "[app][sign]") {
    Fixture f;
    const Bytes di = test::sha256_digest_info(Bytes{'h', 'e', 'l', 'l', 'o'});
    Bytes auth_sig = f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di);
    // The first PIN operation of a card checks once that the reset locked it (SELECT AP, key
    // EF, a signature probe answered 6982); then: SELECT AP, PIN status, VERIFY, SIGN.
    CHECK(f.app.last_operation().apdus == 7);
    CHECK(test::verify_pkcs1_raw(file("auth_cert.der"), di, f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di)));
    CHECK(f.app.last_operation().apdus == 4);
    CHECK(test::verify_pkcs1_raw(file("auth_cert.der"), di, auth_sig));
    Bytes sign_sig = f.app.sign(kSignPin, KeyRef::Sign, SignScheme::Pkcs1, di);
    CHECK(test::verify_pkcs1_raw(file("sign_cert.der"), di, sign_sig));
    CHECK_FALSE(test::verify_pkcs1_raw(file("auth_cert.der"), di, sign_sig));

    // Locked again: a signature without VERIFY is refused by the card.
    auto s = f.app.open();
    CHECK(error_of([&] { s.sign(KeyRef::Auth, SignScheme::Pkcs1, di); }) == CardErrc::SecurityStatusNotSatisfied);
}

TEST_CASE("app: signs a SHA-256 hash with RSASSA-PSS on the card", "[app][sign]") {
    Fixture f;
    const Bytes hash = test::sha256(Bytes{'t', 'l', 's'});
    Bytes sig = f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::PssSha256Hash, hash);
    CHECK(test::verify_pss_sha256(file("auth_cert.der"), hash, sig, 32));
}

TEST_CASE("app: a card that refuses PSS answers WrongP1P2 and spends no extra try", "[app][sign]") {
    auto config = test::card_config();
    config.pss = false;
    Fixture f(config);
    CHECK(error_of([&] { f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::PssSha256Hash, Bytes(32, 1)); }) ==
          CardErrc::WrongP1P2);
    CHECK(f.card.verify_with_data_count() == 1);
    CHECK(f.card.tries_left(false) == 3);
    CHECK_FALSE(f.card.auth_verified());
}

TEST_CASE("app: bad signature requests are refused before any APDU", "[app][sign]") {
    Fixture f;
    CHECK(error_of([&] { f.app.sign(kSignPin, KeyRef::Auth, SignScheme::Pkcs1, Bytes(32, 1)); }) == CardErrc::BadArgument);
    CHECK(f.card.log().empty());
    // Input length is checked inside the session, before the signature command.
    auto s = f.app.open();
    CHECK(error_of([&] { s.sign(KeyRef::Auth, SignScheme::Pkcs1, Bytes(246, 1)); }) == CardErrc::BadArgument);
    CHECK(error_of([&] { s.sign(KeyRef::Auth, SignScheme::Pkcs1, Bytes{}); }) == CardErrc::BadArgument);
    CHECK(error_of([&] { s.sign(KeyRef::Auth, SignScheme::PssSha256Hash, Bytes(31, 1)); }) == CardErrc::BadArgument);
    CHECK(f.card.log().size() == 1);  // the SELECT AP only
}

TEST_CASE("app: every signature status word maps to its error", "[app][sign]") {
    for (auto [sw, code] : {std::pair{"69 82", CardErrc::SecurityStatusNotSatisfied},
                            std::pair{"67 00", CardErrc::WrongLength},
                            std::pair{"69 85", CardErrc::ConditionsNotSatisfied},
                            std::pair{"6A 88", CardErrc::WrongP1P2}}) {
        ScriptedTransport t;
        t.then("90 00").then("63 C3").then("90 00").then(sw);
        t.then("90 00").then("90 00").then("69 82");  // after the reset, the probe: locked
        JpkiApp app(t);
        CHECK(error_of([&] { app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, Bytes(51, 1)); }) == code);
        CHECK(t.resets == 1);
        CHECK(t.remaining() == 0);
    }
}

TEST_CASE("app: a signature of the wrong size is malformed, never returned", "[app][sign]") {
    ScriptedTransport t;
    t.then("90 00").then("63 C3").then("90 00").then("01 02 03 90 00");
    JpkiApp app(t);
    CHECK(error_of([&] { app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, Bytes(51, 1)); }) ==
          CardErrc::MalformedResponse);
}

// --- a card that misbehaves ------------------------------------------------------------------

TEST_CASE("app: a card reset between VERIFY and the signature fails the signature", "[app][fault]") {
    Fixture f;
    f.card.inject_fault(sim::Fault::ResetBefore, 4);  // the 4th APDU is the signature
    CHECK(error_of([&] { f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, Bytes(51, 1)); }) ==
          CardErrc::CardReset);
    CHECK_FALSE(f.card.auth_verified());
    // The next operation works: the reset was acknowledged.
    CHECK(f.app.pin_tries_left(PinRef::Auth) == 3);
}

TEST_CASE("app: truncated, garbage and missing answers are errors, not data", "[app][fault]") {
    for (auto fault : {sim::Fault::Truncated, sim::Fault::Garbage, sim::Fault::Mute}) {
        for (int nth = 1; nth <= 4; ++nth) {
            Fixture f;
            f.card.inject_fault(fault, nth);
            CHECK_THROWS_AS(f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, Bytes(51, 1)), CardError);
            CHECK_FALSE(f.card.auth_verified());
        }
        Fixture g;
        g.card.inject_fault(fault, 3);  // the first READ BINARY of a certificate
        CHECK_THROWS_AS(g.app.read_certificate(CertFile::AuthCert), CardError);
    }
}

TEST_CASE("app: a card pulled out mid-operation is CardRemoved", "[app][fault]") {
    Fixture f;
    f.card.inject_fault(sim::Fault::Removed, 4);
    CHECK(error_of([&] { f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, Bytes(51, 1)); }) ==
          CardErrc::CardRemoved);
    CHECK(error_of([&] { f.app.read_token_info(); }) == CardErrc::CardRemoved);
}

TEST_CASE("app: a READ BINARY that returns nothing, or more than asked, is malformed", "[app][fault]") {
    SECTION("no data") {
        ScriptedTransport t;
        t.then("90 00").then("90 00").then("30 82 05 00 90 00").then("90 00");
        JpkiApp app(t);
        CHECK(error_of([&] { app.read_certificate(CertFile::AuthCert); }) == CardErrc::MalformedResponse);
    }
    SECTION("not DER") {
        ScriptedTransport t;
        t.then("90 00").then("90 00").then("FF FF FF FF 90 00");
        JpkiApp app(t);
        CHECK(error_of([&] { app.read_certificate(CertFile::AuthCert); }) == CardErrc::MalformedResponse);
    }
    SECTION("end of file before the DER length") {
        ScriptedTransport t;
        t.then("90 00").then("90 00").then("30 82 05 00 62 82");
        JpkiApp app(t);
        CHECK(error_of([&] { app.read_certificate(CertFile::AuthCert); }) == CardErrc::MalformedResponse);
    }
    SECTION("6B00 on the first read") {
        ScriptedTransport t;
        t.then("90 00").then("90 00").then("6B 00");
        JpkiApp app(t);
        CHECK(error_of([&] { app.read_certificate(CertFile::AuthCert); }) == CardErrc::EndOfFile);
    }
    SECTION("a certificate file that is not there") {
        ScriptedTransport t;
        t.then("90 00").then("6A 82");
        JpkiApp app(t);
        CHECK(error_of([&] { app.read_certificate(CertFile::SignCert); }) == CardErrc::FileNotFound);
    }
}

// --- the channel: GET RESPONSE, 6Cxx, tracing ------------------------------------------------

TEST_CASE("app: a T=0 style card's 61xx answers are fetched with GET RESPONSE", "[app][channel]") {
    auto config = test::card_config();
    config.t0_get_response = true;
    Fixture f(config);
    CHECK(f.app.read_certificate(CertFile::AuthCert) == file("auth_cert.der"));
    const Bytes di = test::sha256_digest_info(Bytes{9});
    CHECK(test::verify_pkcs1_raw(file("auth_cert.der"), di, f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di)));
}

TEST_CASE("app: 6Cxx resends with the Le the card asked for", "[app][channel]") {
    ScriptedTransport t;
    t.then("90 00").then("90 00").then("6C A0");
    std::string info(160, ' ');
    info.replace(0, 15, "JPKIAPICCTOKEN2");
    std::string hex;
    for (unsigned char c : info) hex += to_hex(&c, 1) + " ";
    t.then(hex + "90 00");
    JpkiApp app(t);
    CHECK(app.read_token_info().kind == TokenKind::Card);
    REQUIRE(t.sent.size() == 4);
    CHECK(to_hex(t.sent[3]) == "00 B0 00 00 A0");
}

TEST_CASE("app: an endless stream of 61xx is cut off", "[app][channel]") {
    ScriptedTransport t;
    t.then("90 00");
    for (int i = 0; i < 100; ++i) t.then("61 10");
    JpkiApp app(t);
    CHECK(error_of([&] { app.read_token_info(); }) == CardErrc::MalformedResponse);
}

TEST_CASE("app: the trace shows headers and status words, never PIN data", "[app][channel]") {
    char path[] = "/tmp/jpki-trace-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    setenv("JPKI_TRACE", path, 1);
    {
        Fixture f;
        f.app.sign(kSignPin, KeyRef::Sign, SignScheme::Pkcs1, Bytes(51, 1));
        // A wrong PIN is traced the same way.
        CHECK_THROWS_AS(f.app.check_pin(Pin::parse(PinRef::Sign, "QZ7777")), CardError);
    }
    unsetenv("JPKI_TRACE");
    std::ifstream in(path);
    std::stringstream all;
    all << in.rdbuf();
    std::remove(path);
    const std::string text = all.str();
    CHECK(text.find("op=sign 00 20 00 9B Lc=<redacted> data=<redacted>") != std::string::npos);
    CHECK(text.find("80 2A 00 9A") != std::string::npos);
    CHECK(text.find("op=check-pin 00 20 00 9B Lc=<redacted> data=<redacted> Le=-1 -> SW=63C4") != std::string::npos);
    CHECK(text.find("QZ7777") == std::string::npos);
    CHECK(text.find(test::kSignPin) == std::string::npos);
    CHECK(text.find("51 5A 37 37 37 37") == std::string::npos);  // the PIN in hex
}

TEST_CASE("app: a reader whose warm reset keeps the PIN status gets a power cycle instead", "[app][fault]") {
    auto config = test::card_config();
    config.warm_reset_keeps_status = true;
    Fixture f(config);
    const Bytes di = test::sha256_digest_info(Bytes{7});
    CHECK(test::verify_pkcs1_raw(file("auth_cert.der"), di, f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di)));
    CHECK_FALSE(f.card.auth_verified());  // locked by the power cycle the check asked for
    // From now on the card is power-cycled at once: locked after every operation, no more checks.
    f.app.sign(kSignPin, KeyRef::Sign, SignScheme::Pkcs1, di);
    CHECK_FALSE(f.card.sign_verified());
    CHECK(f.app.last_operation().apdus == 4);
}

TEST_CASE("app: a PIN kept since login is not sent once the counter has moved", "[app][pin]") {
    Fixture f;
    const Bytes di = test::sha256_digest_info(Bytes{8});
    f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di, PinSource::kept_since(f.app.epoch()));  // full counter: sent
    f.card.set_tries_left(false, 2);  // a wrong PIN typed in another program
    const std::size_t before = f.card.verify_with_data_count();
    try {
        f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di, PinSource::kept_since(f.app.epoch()));
        FAIL("a kept PIN was sent with the counter at 2");
    } catch (const CardError& e) {
        CHECK(e.code() == CardErrc::StalePin);
        CHECK(e.tries_left() == 2);
    }
    CHECK(f.card.verify_with_data_count() == before);
    CHECK(f.card.tries_left(false) == 2);
    // A PIN the user has just typed is still sent (and the right one resets the counter).
    f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di);
    CHECK(f.card.tries_left(false) == 3);
}

// --- a kept PIN and what other programs do to the card ---------------------------------------

namespace {

// Another program, with its own connection to the same card: VERIFY of the auth PIN and a
// change to 5678, then (or not) the reset that locks the card again.
enum class ThenReset { Yes, No };
void another_program_changes_auth_pin(sim::JpkiCard& card, ThenReset reset) {
    sim::SimTransport other(card);
    const auto send = [&](const char* hex) {
        const Bytes apdu = from_hex(hex);
        const Bytes answer = other.transmit(apdu.data(), apdu.size());
        REQUIRE(to_hex(answer) == "90 00");
    };
    send("00 A4 04 0C 0A D3 92 F0 00 26 01 00 00 00 01");
    send("00 A4 02 0C 02 00 18");
    send("00 20 00 80 04 31 32 33 34");
    send("00 24 01 80 04 35 36 37 38");
    if (reset == ThenReset::Yes) other.reset_card();
}

// Signs with the PIN kept since `login`, expecting it refused before any VERIFY is sent.
void expect_kept_pin_refused(Fixture& f, PinSource kept, CardErrc expected) {
    const std::size_t before = f.card.verify_with_data_count();
    CHECK(error_of([&] {
              f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, test::sha256_digest_info(Bytes{9}), kept);
          }) == expected);
    CHECK(f.card.verify_with_data_count() == before);
    CHECK(f.card.tries_left(false) == 3);
}

}  // namespace

TEST_CASE("app: after a reset by someone else, another card in the reader gets no PIN", "[app][pin]") {
    Fixture f;
    f.app.identify();
    f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, test::sha256_digest_info(Bytes{9}));
    const PinSource kept = PinSource::kept_since(f.app.epoch());
    auto other = test::card_config(2);
    other.auth_pin = "1234";  // equal PINs: the card would even sign in the first card's name
    f.card.become(other);     // pulled, another put in, reset by another program: PC/SC says "reset"
    f.card.clear_log();
    expect_kept_pin_refused(f, kept, CardErrc::OtherCard);
    for (const sim::LoggedApdu& a : f.card.log()) CHECK(a.header[1] != 0x2A);  // no signature asked
}

TEST_CASE("app: the same card after a reset by someone else is recognised, but its kept PIN is not sent",
          "[app][pin]") {
    Fixture f;
    f.app.identify();
    f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, test::sha256_digest_info(Bytes{9}));
    const PinSource kept = PinSource::kept_since(f.app.epoch());
    another_program_changes_auth_pin(f.card, ThenReset::Yes);
    expect_kept_pin_refused(f, kept, CardErrc::StalePin);
    // The card itself is still usable: a PIN typed now is sent.
    CHECK(f.app.pin_tries_left(PinRef::Auth) == 3);
}

TEST_CASE("app: a kept PIN is not sent to a card another program left unlocked", "[app][pin]") {
    Fixture f;
    f.app.identify();
    f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, test::sha256_digest_info(Bytes{9}));
    const PinSource kept = PinSource::kept_since(f.app.epoch());
    another_program_changes_auth_pin(f.card, ThenReset::No);  // counter full, no reset seen
    expect_kept_pin_refused(f, kept, CardErrc::StalePin);
}

TEST_CASE("app: a kept PIN is sent while nothing happened to the card", "[app][pin]") {
    Fixture f;
    f.app.identify();
    f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, test::sha256_digest_info(Bytes{9}));
    const PinSource kept = PinSource::kept_since(f.app.epoch());
    const std::size_t before = f.card.verify_with_data_count();
    const Bytes di = test::sha256_digest_info(Bytes{10});
    CHECK(test::verify_pkcs1_raw(file("auth_cert.der"), di, f.app.sign(kAuthPin, KeyRef::Auth, SignScheme::Pkcs1, di, kept)));
    CHECK(f.card.verify_with_data_count() == before + 1);
    CHECK_FALSE(f.card.auth_verified());
}

TEST_CASE("app: a lock check the card cannot answer fails the operation after a power cycle", "[app][pin]") {
    ScriptedTransport t;
    t.then("90 00").then("63 C3").then("90 00");  // SELECT AP, counter, VERIFY
    t.then("90 00").then("90 00").then("6A 80");  // after the reset: the probe, not understood
    JpkiApp app(t);
    CHECK(error_of([&] { app.check_pin(kAuthPin); }) == CardErrc::ConditionsNotSatisfied);
    CHECK(t.resets == 2);  // the warm reset, then the power cycle
    // From now on a power cycle locks the card, and no probe is sent.
    t.then("90 00").then("63 C3").then("90 00");
    app.check_pin(kAuthPin);
    CHECK(t.resets == 3);
    CHECK(t.remaining() == 0);
}
