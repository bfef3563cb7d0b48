//! A compiled rule set together with what failed to load, so the summary can
//! say how many rules were refused.

use tiaki_sigma::correlation::{CorrelationEngine, EngineOptions};
use tiaki_sigma::{Collection, RuleError, RuleSet};

/// Compiled rules ready to hunt with.
#[derive(Debug)]
pub struct Rules {
    /// The detection and correlation rules that compiled.
    pub set: RuleSet,
    /// Every rule document that was refused while loading or compiling, and
    /// correlation references that could not be resolved.
    pub errors: Vec<RuleError>,
    /// True if the correlation rules could be resolved into an engine (if
    /// not, `errors` says why and the hunt runs without correlations).
    pub correlations_usable: bool,
}

impl Rules {
    /// No rules (a hunt with indicators or YARA only).
    pub fn empty() -> Rules {
        Rules::compile(Collection::new(Default::default()))
    }

    /// Compiles a collection and checks that its correlation rules resolve.
    pub fn compile(collection: Collection) -> Rules {
        Rules::from_set_and_errors(collection.compile())
    }

    fn from_set_and_errors(c: tiaki_sigma::Compiled) -> Rules {
        let mut errors = c.errors;
        let mut correlations_usable = true;
        if !c.ruleset.correlations().is_empty()
            && let Err(e) = CorrelationEngine::new(&c.ruleset)
        {
            correlations_usable = false;
            errors.extend(e);
        }
        Rules {
            set: c.ruleset,
            errors,
            correlations_usable,
        }
    }

    /// Builds the correlation engine for one run, if there are correlation
    /// rules and they resolved.
    pub(crate) fn engine(&self, options: EngineOptions) -> Option<CorrelationEngine> {
        if self.set.correlations().is_empty() || !self.correlations_usable {
            return None;
        }
        CorrelationEngine::with_options(&self.set, options).ok()
    }
}
