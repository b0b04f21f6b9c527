// PIN format rules: checked before any APDU exists, and the secure buffer is wiped.
#include "card/card_error.h"
#include "card/pin.h"

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <string>

using namespace jpki;

namespace {
CardErrc parse_error(PinRef ref, const std::string& text) {
    try {
        Pin::parse(ref, text.c_str());
    } catch (const CardError& e) {
        return e.code();
    }
    return CardErrc::UnexpectedStatus;  // "no error" marker for the checks below
}
}  // namespace

TEST_CASE("the authentication PIN is exactly four digits", "[pin]") {
    Pin pin = Pin::parse(PinRef::Auth, "0123");
    CHECK(pin.ref() == PinRef::Auth);
    CHECK(std::string(pin.bytes().data(), pin.bytes().data() + pin.bytes().size()) == "0123");
    CHECK(parse_error(PinRef::Auth, "123") == CardErrc::PinLength);
    CHECK(parse_error(PinRef::Auth, "12345") == CardErrc::PinLength);
    CHECK(parse_error(PinRef::Auth, "") == CardErrc::PinLength);
    CHECK(parse_error(PinRef::Auth, "12a4") == CardErrc::PinCharacters);
    CHECK(parse_error(PinRef::Auth, "12 4") == CardErrc::PinCharacters);
}

TEST_CASE("the signature password is 6-16 of A-Z and 0-9, lower case folded", "[pin]") {
    Pin pin = Pin::parse(PinRef::Sign, "abc123");
    CHECK(std::string(pin.bytes().data(), pin.bytes().data() + pin.bytes().size()) == "ABC123");
    CHECK_NOTHROW(Pin::parse(PinRef::Sign, "ABCDEFGHIJ123456"));
    CHECK(parse_error(PinRef::Sign, "ABC12") == CardErrc::PinLength);
    CHECK(parse_error(PinRef::Sign, "ABCDEFGHIJ1234567") == CardErrc::PinLength);
    CHECK(parse_error(PinRef::Sign, "ABC-123") == CardErrc::PinCharacters);
    CHECK(parse_error(PinRef::Sign, "ABC 123") == CardErrc::PinCharacters);
    CHECK(parse_error(PinRef::Sign, "ＡＢＣ１２３") == CardErrc::PinLength);  // UTF-8 full width: 18 bytes
    CHECK(parse_error(PinRef::Sign, "\xC3\xA9" "ABCDE") == CardErrc::PinCharacters);
}

TEST_CASE("a NULL PIN is a length error, not a crash", "[pin]") {
    CHECK_THROWS_AS(Pin::parse(PinRef::Auth, nullptr, 4), CardError);
    CHECK(parse_error(PinRef::Sign, "") == CardErrc::PinLength);
}

TEST_CASE("clone copies the PIN and the original stays intact", "[pin]") {
    Pin a = Pin::parse(PinRef::Sign, "SIGN1234");
    Pin b = a.clone();
    CHECK(b.bytes().size() == 8);
    CHECK(b.bytes()[0] == 'S');
    CHECK(a.bytes()[7] == '4');
}

TEST_CASE("the secure buffer wipes on clear and on move, and refuses to grow", "[pin]") {
    SecureBuffer buf;
    const std::uint8_t secret[] = {'9', '8', '7', '6'};
    buf.append(secret, 4);
    const std::uint8_t* where = buf.data();
    buf.clear();
    CHECK(buf.size() == 0);
    for (int i = 0; i < 4; ++i) CHECK(where[i] == 0);

    SecureBuffer src(secret, 4);
    SecureBuffer dst(std::move(src));
    CHECK(dst.size() == 4);
    CHECK(src.size() == 0);  // NOLINT(bugprone-use-after-move): checking the wipe
    for (int i = 0; i < 4; ++i) CHECK(src.data()[i] == 0);

    SecureBuffer full;
    std::uint8_t big[SecureBuffer::kCapacity + 1] = {};
    CHECK_THROWS_AS(full.append(big, sizeof big), std::length_error);
}

TEST_CASE("a forked child finds every secret it inherited wiped, the parent keeps its own", "[pin]") {
    Pin pin = Pin::parse(PinRef::Sign, "PARENT2024");
    const std::uint8_t* where = pin.bytes().data();
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // No call into the module happens here: the atfork handler alone did the wiping.
        bool wiped = pin.bytes().size() == 0;
        for (std::size_t i = 0; i < 10; ++i) wiped = wiped && where[i] == 0;
        _exit(wiped ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(std::string(reinterpret_cast<const char*>(pin.bytes().data()), pin.bytes().size()) == "PARENT2024");
}
