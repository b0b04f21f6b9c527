#include "common/bytes.h"

#include <stdexcept>

namespace jpki {

std::string to_hex(const std::uint8_t* data, std::size_t len, HexStyle style) {
    static const char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(len * 3);
    for (std::size_t i = 0; i < len; ++i) {
        if (style == HexStyle::Spaced && i) out += ' ';
        out += digits[data[i] >> 4];
        out += digits[data[i] & 0x0F];
    }
    return out;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

Bytes from_hex(const std::string& hex) {
    Bytes out;
    int high = -1;
    for (char c : hex) {
        if (c == ' ' || c == ':') continue;
        int v = hex_value(c);
        if (v < 0) throw std::invalid_argument("not a hex digit in: " + hex);
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) throw std::invalid_argument("odd number of hex digits in: " + hex);
    return out;
}

}  // namespace jpki
