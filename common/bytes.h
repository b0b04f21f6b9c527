// Byte strings and hex formatting shared by the card layer, the simulator and the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace jpki {

using Bytes = std::vector<std::uint8_t>;

enum class HexStyle {
    Spaced,  // "00 A4 04 0C"
    Packed,  // "00A4040C"
};
// Upper-case hex.
std::string to_hex(const std::uint8_t* data, std::size_t len, HexStyle style = HexStyle::Spaced);
inline std::string to_hex(const Bytes& b, HexStyle style = HexStyle::Spaced) { return to_hex(b.data(), b.size(), style); }

// Parses hex, ignoring spaces and colons; throws std::invalid_argument on anything else.
Bytes from_hex(const std::string& hex);

}  // namespace jpki
