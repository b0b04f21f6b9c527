// ISO 7816-4 command and response APDUs as values (section 5.1: the four cases, short and
// extended length fields).
#pragma once

#include "common/bytes.h"

#include <cstdint>
#include <optional>

namespace jpki {

class CommandApdu {
public:
    // Case 1: header only.
    CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2);
    // Case 3 (le empty) or case 4: header, data, optional expected length (1..65536;
    // 256 encodes as 00 in a short APDU).
    CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, Bytes data,
                std::optional<std::uint32_t> le = std::nullopt);
    // Case 2: header and expected length.
    static CommandApdu case2(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                             std::uint32_t le);
    // A command whose data is secret (VERIFY): its buffers are wiped when it goes away and
    // traces never show the data.
    static CommandApdu sensitive(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1,
                                 std::uint8_t p2, const std::uint8_t* data, std::size_t len);
    ~CommandApdu();
    CommandApdu(const CommandApdu&) = delete;
    CommandApdu& operator=(const CommandApdu&) = delete;
    CommandApdu(CommandApdu&&) = default;
    CommandApdu& operator=(CommandApdu&&) = default;

    std::uint8_t cla() const { return cla_; }
    std::uint8_t ins() const { return ins_; }
    std::uint8_t p1() const { return p1_; }
    std::uint8_t p2() const { return p2_; }
    const Bytes& data() const { return data_; }
    std::optional<std::uint32_t> le() const { return le_; }
    bool is_sensitive() const { return sensitive_; }
    // True when Lc or Le does not fit the short form.
    bool needs_extended() const;
    // The same command with another Le (for 6Cxx).
    CommandApdu with_le(std::uint32_t le) const;

    // Encodes into `out` (cleared first; reserved so it never reallocates).
    void encode(Bytes& out) const;

private:
    std::uint8_t cla_, ins_, p1_, p2_;
    Bytes data_;
    std::optional<std::uint32_t> le_;
    bool sensitive_ = false;
};

class ResponseApdu {
public:
    // Splits a raw response into data and SW; throws CardError(MalformedResponse) when it is
    // shorter than the two status bytes.
    static ResponseApdu parse(const std::uint8_t* raw, std::size_t len);
    static ResponseApdu parse(const Bytes& raw) { return parse(raw.data(), raw.size()); }
    ResponseApdu(Bytes data, std::uint16_t sw) : data_(std::move(data)), sw_(sw) {}

    const Bytes& data() const { return data_; }
    Bytes& data() { return data_; }
    std::uint16_t sw() const { return sw_; }
    std::uint8_t sw1() const { return static_cast<std::uint8_t>(sw_ >> 8); }
    std::uint8_t sw2() const { return static_cast<std::uint8_t>(sw_); }
    bool ok() const { return sw_ == 0x9000; }

private:
    Bytes data_;
    std::uint16_t sw_;
};

}  // namespace jpki
