//! The route names a Rails app gives its controllers when `config/routes.rb` says so rather than
//! leaving it to the default: `resource :esign, controller: 'esign_settings'` inside
//! `scope '/settings', as: :settings do` is `settings_esign_path`, and a resource nested in
//! `resources :templates do` is named after one template (`template_versions_path`).
//!
//! Only what renames or re-homes a controller is recorded: a `controller:` option, an `as:`
//! option, or `get 'x' => 'ctrl#action', as: :name`. A resource with neither is named by its
//! controller, which [`super::coverage`] already derives from the controller's path. The routes
//! are read line by line, blocks by `do` ... `end`; lines gate does not understand open no name.

use std::collections::HashMap;

use crate::Result;
use crate::git::{TreeFile, TreeIndex};

/// The route-name prefix and controller module a block adds to what it encloses.
#[derive(Debug, Clone, Default)]
struct Block {
    name: Option<String>,
    module: Option<String>,
}

/// Route names by controller file (lower-cased, as in the tree:
/// `app/controllers/esign_settings_controller.rb`).
#[derive(Debug, Default)]
pub struct Routes {
    names: HashMap<String, Vec<String>>,
}

impl Routes {
    /// Reads each Rails app's `config/routes.rb` and the files it draws (`config/routes/*.rb`).
    pub fn build(tree: &TreeIndex, read: &dyn Fn(&TreeFile) -> Result<String>) -> Result<Routes> {
        let mut routes = Routes::default();
        // Only Ruby files can be routes: the others are not lower-cased to be looked at.
        let ruby = |path: &str| path.len() >= 3 && path.as_bytes()[path.len() - 3..].eq_ignore_ascii_case(b".rb");
        for file in tree.files().iter().filter(|f| ruby(&f.path)) {
            let lower = file.path.to_lowercase();
            let Some(root) = routes_root(&lower) else { continue };
            routes.read(root, &read(file)?);
        }
        Ok(routes)
    }

    /// The route names (without `_path`, `new_`, `edit_` or `_index`) of a controller file.
    pub fn names(&self, controller: &str) -> &[String] {
        self.names.get(controller).map_or(&[], Vec::as_slice)
    }

    fn read(&mut self, root: &str, text: &str) {
        let mut stack: Vec<Block> = Vec::new();
        for line in text.lines() {
            let line = line.split(" #").next().unwrap_or("").trim();
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let word = line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("");
            if word == "end" {
                stack.pop();
                continue;
            }
            let opens = line.ends_with(" do") || line.contains(" do |");
            let block = match word {
                "namespace" => {
                    let name = symbol(line.strip_prefix("namespace").unwrap_or(""));
                    Block { name: name.clone(), module: name }
                }
                "scope" => Block { name: option(line, "as"), module: option(line, "module") },
                "resources" | "resource" => {
                    let Some(name) = symbol(&line[word.len()..]) else {
                        if opens {
                            stack.push(Block::default());
                        }
                        continue;
                    };
                    let named = option(line, "as").unwrap_or_else(|| name.clone());
                    if let Some(controller) = option(line, "controller") {
                        self.add(root, &stack, &controller, &named);
                    } else if option(line, "as").is_some() {
                        let controller = if word == "resources" { name.clone() } else { format!("{name}s") };
                        self.add(root, &stack, &controller, &named);
                    }
                    // Routes inside a collection are named after one member (`template_versions`).
                    let member = if word == "resources" { singular(&named) } else { named };
                    Block { name: Some(member), module: None }
                }
                "get" | "post" | "put" | "patch" | "delete" | "match" => {
                    if let (Some(target), Some(named)) = (action_target(line), option(line, "as")) {
                        self.add(root, &stack, &target, &named);
                    }
                    Block::default()
                }
                // `if Docuseal.multitenant?` ... `end` encloses routes too.
                "if" | "unless" | "case" | "begin" | "while" => {
                    stack.push(Block::default());
                    continue;
                }
                _ => Block::default(),
            };
            if opens {
                stack.push(block);
            }
        }
    }

    fn add(&mut self, root: &str, stack: &[Block], controller: &str, named: &str) {
        let mut module: Vec<&str> = stack.iter().filter_map(|b| b.module.as_deref()).collect();
        module.push(controller.trim_start_matches('/'));
        let path = format!("{root}app/controllers/{}_controller.rb", module.join("/")).to_lowercase();
        let mut name: Vec<&str> = stack.iter().filter_map(|b| b.name.as_deref()).collect();
        name.push(named);
        let full = name.join("_");
        let entry = self.names.entry(path).or_default();
        for name in [singular(&full), full] {
            if let Err(at) = entry.binary_search(&name) {
                entry.insert(at, name);
            }
        }
    }
}

/// The directory of the Rails app whose routes `lower` holds (`""`, `web/`), if it is its
/// `config/routes.rb` or a file it draws from `config/routes/`.
fn routes_root(lower: &str) -> Option<&str> {
    let at = lower.find("config/routes")?;
    let root = &lower[at..];
    let routes = root == "config/routes.rb" || (root.starts_with("config/routes/") && root.ends_with(".rb"));
    (routes && (at == 0 || lower[..at].ends_with('/'))).then_some(&lower[..at])
}

/// The first symbol or string after a keyword: `:esign`, `'esign'`, `"esign"`.
fn symbol(rest: &str) -> Option<String> {
    let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
    let rest = rest.strip_prefix(':').or_else(|| rest.strip_prefix('\'')).or_else(|| rest.strip_prefix('"'))?;
    let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '/').collect();
    (!name.is_empty()).then_some(name)
}

/// The value of `key: value` (`controller: 'esign_settings'`, `as: :settings`) or
/// `:key => value` in a route line.
fn option(line: &str, key: &str) -> Option<String> {
    for pattern in [format!("{key}: "), format!(":{key} => ")] {
        let mut from = 0;
        while let Some(at) = line[from..].find(&pattern) {
            let start = from + at;
            let before = line[..start].chars().next_back();
            if before.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
                return symbol(&line[start + pattern.len()..]);
            }
            from = start + pattern.len();
        }
    }
    None
}

/// The controller of `get 'x' => 'ctrl#action'` or `get 'x', to: 'ctrl#action'`.
fn action_target(line: &str) -> Option<String> {
    let quoted = line.split(['\'', '"']).skip(1).step_by(2);
    quoted.filter_map(|s| s.split_once('#')).map(|(c, _)| c.to_string()).find(|c| !c.is_empty())
}

/// Rails' singular of a resource name, for the plain English plurals routes use.
fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies") {
        format!("{stem}y")
    } else if name.ends_with("ss") {
        name.to_string()
    } else if let Some(stem) = name.strip_suffix('s') {
        stem.to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(text: &str) -> Routes {
        let mut routes = Routes::default();
        routes.read("", text);
        routes
    }

    #[test]
    fn renamed_and_nested_controllers_get_the_names_rails_gives_them() {
        let r = routes(
            "Rails.application.routes.draw do\n\
             \x20 resources :templates do\n\
             \x20   resources :versions, only: %i[index show], controller: 'templates_versions'\n\
             \x20   resource :debug, only: %i[show], controller: 'templates_debug' if Rails.env.development?\n\
             \x20 end\n\
             \x20 if Docuseal.multitenant?\n\
             \x20   get '/disk/:key' => 'active_storage/disk#show', as: :rails_disk_service\n\
             \x20 end\n\
             \x20 scope '/settings', as: :settings do\n\
             \x20   resource :esign, only: %i[show create], controller: 'esign_settings'\n\
             \x20   resources :webhooks, only: %i[index] do # per webhook\n\
             \x20     post :resend\n\
             \x20   end\n\
             \x20 end\n\
             \x20 namespace :api do\n\
             \x20   resources :attachments, only: %i[create], controller: 'uploads'\n\
             \x20 end\n\
             \x20 resources :profile, only: %i[index], as: :me\n\
             end\n",
        );
        assert_eq!(
            r.names("app/controllers/templates_versions_controller.rb"),
            ["template_version", "template_versions"]
        );
        assert_eq!(r.names("app/controllers/templates_debug_controller.rb"), ["template_debug"]);
        assert_eq!(r.names("app/controllers/active_storage/disk_controller.rb"), ["rails_disk_service"]);
        assert_eq!(r.names("app/controllers/esign_settings_controller.rb"), ["settings_esign"]);
        assert_eq!(r.names("app/controllers/api/uploads_controller.rb"), ["api_attachment", "api_attachments"]);
        assert_eq!(r.names("app/controllers/profile_controller.rb"), ["me"]);
        // Nothing renames the webhooks controller: its default names are coverage's business.
        assert!(r.names("app/controllers/webhooks_controller.rb").is_empty());
    }

    #[test]
    fn routes_files_are_found_in_each_app() {
        assert_eq!(routes_root("config/routes.rb"), Some(""));
        assert_eq!(routes_root("web/config/routes.rb"), Some("web/"));
        assert_eq!(routes_root("config/routes/admin.rb"), Some(""));
        assert_eq!(routes_root("myconfig/routes.rb"), None);
        assert_eq!(routes_root("config/routes.yml"), None);
    }
}
