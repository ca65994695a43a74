// starling_passwd: manages Mosquitto-format password files (mosquitto_passwd's flags, messages and exit codes).
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/password_file.hpp"
#include "auth/password_hash.hpp"
#include "auth/scram.hpp"

namespace {

using starling::auth::HashType;

constexpr size_t kMaxPasswordLength = 65535;

void printUsage() {
    std::printf(
        "starling_passwd is a tool for managing password files for mosquitto and starling.\n\n"
        "Usage: starling_passwd [-H sha512 | -H sha512-pbkdf2 | -H argon2id] [-I iterations] [-c | -D] passwordfile "
        "username\n"
        "       starling_passwd [-H sha512 | -H sha512-pbkdf2 | -H argon2id] [-I iterations] [-c] -b passwordfile "
        "username password\n"
        "       starling_passwd -U passwordfile\n"
        " -b : run in batch mode to allow passing passwords on the command line.\n"
        " -c : create a new password file. This will overwrite existing files.\n"
        " -D : delete the username rather than adding/updating its password.\n"
        " -H : specify the hashing algorithm. Defaults to sha512-pbkdf2, which is recommended.\n"
        "      Mosquitto 1.6 and earlier defaulted to sha512. argon2id is not read by Mosquitto 2.0.\n"
        " -I : number of iterations (sha512-pbkdf2) or time cost (argon2id).\n"
        " -U : update a plain text password file to use hashed passwords.\n"
        "\nSee https://mosquitto.org/ for more information.\n\n");
}

struct termios g_saved_term;
bool g_term_saved = false;

void restoreTerminal() {
    if (g_term_saved) tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_term);
}

void onSignal(int) {
    restoreTerminal();
    std::_Exit(0);
}

bool readLineNoEcho(const char* prompt, std::string& out) {
    std::fputs(prompt, stdout);
    std::fflush(stdout);
    bool tty = isatty(STDIN_FILENO);
    if (tty && tcgetattr(STDIN_FILENO, &g_saved_term) == 0) {
        g_term_saved = true;
        struct termios t = g_saved_term;
        t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    bool ok = static_cast<bool>(std::getline(std::cin, out));
    restoreTerminal();
    g_term_saved = false;
    std::printf("\n");
    return ok;
}

// 0 on success; mosquitto_passwd's messages otherwise.
int getPassword(std::string& password) {
    std::string again;
    if (!readLineNoEcho("Password: ", password)) {
        std::fprintf(stderr, "Error: Empty password.\n");
        return 1;
    }
    if (!readLineNoEcho("Reenter password: ", again)) {
        std::fprintf(stderr, "Error: Empty password.\n");
        return 1;
    }
    if (password != again) {
        std::fprintf(stderr, "Error: Passwords do not match.\n");
        return 1;
    }
    if (password.empty()) {
        std::fprintf(stderr, "Error: Empty password.\n");
        return 1;
    }
    return 0;
}

bool isUsernameValid(const std::string& username) {
    if (username.size() > 65535) {
        std::fprintf(stderr, "Error: Username must be less than 65536 characters long.\n");
        return false;
    }
    for (unsigned char c : username) {
        if (std::iscntrl(c)) {
            std::fprintf(stderr, "Error: Username must not contain control characters.\n");
            return false;
        }
    }
    if (username.find(':') != std::string::npos) {
        std::fprintf(stderr, "Error: Username must not contain the ':' character.\n");
        return false;
    }
    return true;
}

struct Settings {
    HashType type = HashType::kSha512Pbkdf2;
    int iterations = -1;  // -1: the hash type's default
};

bool appendHashed(std::string& out, const std::string& username, const std::string& password, const Settings& s) {
    int iterations = s.iterations;
    if (iterations < 0) {
        iterations = s.type == HashType::kArgon2id      ? starling::auth::kDefaultArgon2Iterations
                     : s.type == HashType::kScramSha256 ? starling::auth::kDefaultScramIterations
                                                        : starling::auth::kDefaultPbkdf2Iterations;
    }
    auto hash = starling::auth::hashPassword(password, s.type, iterations);
    if (!hash) {
        std::fprintf(stderr, "Error: Unable to hash password.\n");
        return false;
    }
    out += username + ":" + *hash + "\n";
    return true;
}

std::vector<std::string> splitLinesKeepingEnds(const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text.size()) {
        size_t nl = text.find('\n', start);
        size_t end = nl == std::string::npos ? text.size() : nl + 1;
        lines.push_back(text.substr(start, end - start));
        start = end;
    }
    return lines;
}

enum class Mode { kAddOrUpdate, kDelete, kUpgrade };

// Rewrites the file's lines; 0 on success.
int rewrite(const std::string& text, std::string& out, Mode mode, const std::string& username,
            const std::string& password, const Settings& s) {
    bool found = false;
    int line_no = 0;
    for (const std::string& line : splitLinesKeepingEnds(text)) {
        ++line_no;
        auto parts = starling::auth::splitPasswordLine(line);
        if (parts.username.empty() || parts.hash.empty()) {
            std::fprintf(stderr, "Error: Corrupt password file at line %d.\n", line_no);
            return 1;
        }
        std::string user(parts.username);
        if (mode == Mode::kUpgrade) {
            if (!appendHashed(out, user, std::string(parts.hash), s)) return 1;
        } else if (user != username) {
            out += line;
        } else {
            found = true;
            if (mode == Mode::kAddOrUpdate && !appendHashed(out, user, password, s)) return 1;
        }
    }
    if (mode == Mode::kDelete && !found) {
        std::fprintf(stderr, "Warning: User %s not found in password file.\n", username.c_str());
        return 1;
    }
    if (mode == Mode::kAddOrUpdate && !found && !appendHashed(out, username, password, s)) return 1;
    return 0;
}

bool writeFile(const std::string& path, const std::string& content) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << content;
    return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char* argv[]) {
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    if (argc == 1) {
        printUsage();
        return 1;
    }
    Settings settings;
    bool batch = false, create = false, remove = false, upgrade = false;
    int idx = 1;
    for (; idx < argc; ++idx) {
        std::string a = argv[idx];
        if (a == "-H") {
            if (idx + 1 == argc) {
                std::fprintf(stderr, "Error: -H argument given but not enough other arguments.\n");
                return 1;
            }
            auto t = starling::auth::parseHashType(argv[idx + 1]);
            if (!t) {
                std::fprintf(stderr, "Error: Unknown hash type '%s'\n", argv[idx + 1]);
                return 1;
            }
            settings.type = *t;
            ++idx;
        } else if (a == "-b") {
            batch = true;
        } else if (a == "-c") {
            create = true;
        } else if (a == "-D") {
            remove = true;
        } else if (a == "-I") {
            if (idx + 1 == argc) {
                std::fprintf(stderr, "Error: -I argument given but not enough other arguments.\n");
                return 1;
            }
            settings.iterations = std::atoi(argv[idx + 1]);
            ++idx;
            if (settings.iterations < 1) {
                std::fprintf(stderr, "Error: Number of iterations must be > 0.\n");
                return 1;
            }
        } else if (a == "-U") {
            upgrade = true;
        } else {
            break;
        }
    }
    if (create && remove) {
        std::fprintf(stderr, "Error: -c and -D cannot be used together.\n");
        return 1;
    }
    if (create && upgrade) {
        std::fprintf(stderr, "Error: -c and -U cannot be used together.\n");
        return 1;
    }
    if (remove && upgrade) {
        std::fprintf(stderr, "Error: -D and -U cannot be used together.\n");
        return 1;
    }
    if (remove && batch) {
        std::fprintf(stderr, "Error: -b and -D cannot be used together.\n");
        return 1;
    }

    std::string path, username, password;
    bool have_password = false;
    if (create) {
        if (batch) {
            if (idx + 2 >= argc) {
                std::fprintf(stderr, "Error: -c argument given but password file, username, or password missing.\n");
                return 1;
            }
            password = argv[idx + 2];
            have_password = true;
        } else if (idx + 1 >= argc) {
            std::fprintf(stderr, "Error: -c argument given but password file or username missing.\n");
            return 1;
        }
        path = argv[idx];
        username = argv[idx + 1];
    } else if (remove) {
        if (idx + 1 >= argc) {
            std::fprintf(stderr, "Error: -D argument given but password file or username missing.\n");
            return 1;
        }
        path = argv[idx];
        username = argv[idx + 1];
    } else if (upgrade) {
        if (idx + 1 != argc) {
            std::fprintf(stderr, "Error: -U argument given but password file missing.\n");
            return 1;
        }
        path = argv[idx];
    } else if (batch && idx + 3 == argc) {
        path = argv[idx];
        username = argv[idx + 1];
        password = argv[idx + 2];
        have_password = true;
    } else if (!batch && idx + 2 == argc) {
        path = argv[idx];
        username = argv[idx + 1];
    } else {
        printUsage();
        return 1;
    }

    if (!isUsernameValid(username)) return 1;
    if (have_password && password.size() > kMaxPasswordLength) {
        std::fprintf(stderr, "Error: Password must be less than 65536 characters long.\n");
        return 1;
    }

    if (create) {
        if (!batch && getPassword(password) != 0) return 1;
        std::string out;
        if (!appendHashed(out, username, password, settings)) return 1;
        if (!writeFile(path, out)) {
            std::fprintf(stderr, "Error: Unable to open file %s for writing. %s.\n", path.c_str(),
                         std::strerror(errno));
            return 1;
        }
        return 0;
    }

    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "Error: Unable to open password file %s. %s.\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    in.close();
    const std::string original = ss.str();

    Mode mode = upgrade ? Mode::kUpgrade : remove ? Mode::kDelete : Mode::kAddOrUpdate;
    if (mode == Mode::kAddOrUpdate && !batch && getPassword(password) != 0) return 1;

    // Like mosquitto_passwd, keep a backup until the new content is in place.
    std::string backup = path + ".backup.XXXXXX";
    int fd = mkstemp(backup.data());
    if (fd < 0) {
        std::fprintf(stderr, "Error creating backup password file \"%s\", not continuing.\n", backup.c_str());
        return 1;
    }
    if (write(fd, original.data(), original.size()) != static_cast<ssize_t>(original.size())) {
        close(fd);
        std::fprintf(stderr, "Error copying data to backup password file \"%s\", not continuing.\n", backup.c_str());
        return 1;
    }
    close(fd);

    std::string updated;
    int rc = rewrite(original, updated, mode, username, password, settings);
    if (rc == 0 && !writeFile(path, updated)) {
        std::fprintf(stderr, "Error occurred updating password file.\n");
        std::fprintf(stderr, "Password file may be corrupt, check the backup file: %s.\n", backup.c_str());
        return 1;
    }
    std::remove(backup.c_str());
    return rc;
}
