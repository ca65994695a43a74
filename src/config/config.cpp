#include "config/config.hpp"

#include "config/parser.hpp"

namespace starling::config {

Config loadConfig(const std::string& path) {
    std::string text, error;
    if (!readTextFile(path, text, error)) throw ConfigError(path + ": cannot read the configuration file: " + error);
    Config cfg;
    cfg.source_path = path;
    Parser parser(cfg, path);
    parser.parseFile(text, path, true);
    parser.finish();
    return cfg;
}

Config parseConfig(const std::string& text, const std::string& name) {
    Config cfg;
    Parser parser(cfg, "");
    parser.parseFile(text, name, true);
    parser.finish();
    return cfg;
}

}  // namespace starling::config
