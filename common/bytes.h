// Byte strings and hex formatting shared by the card layer, the simulator and the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace jpki {

using Bytes = std::vector<std::uint8_t>;

// Upper-case hex with a space between bytes ("00 A4 04 0C").
std::string to_hex(const std::uint8_t* data, std::size_t len, bool spaced = true);
inline std::string to_hex(const Bytes& b, bool spaced = true) { return to_hex(b.data(), b.size(), spaced); }

// Parses hex, ignoring spaces and colons; throws std::invalid_argument on anything else.
Bytes from_hex(const std::string& hex);

}  // namespace jpki
