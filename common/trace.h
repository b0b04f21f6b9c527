// The trace switched on by JPKI_TRACE ("1"/"stderr" for standard error, else a file to append
// to). One line per event; callers never pass secrets.
#pragma once

#include <string>

namespace jpki {

bool trace_enabled();
void trace_line(const std::string& line);

}  // namespace jpki
