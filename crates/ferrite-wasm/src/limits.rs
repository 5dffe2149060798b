//! Resource limits of a function and the instance-pool configuration.

use std::time::Duration;

use crate::WasmError;

/// Largest memory a function may be given: the whole 32-bit wasm address space.
pub const MEMORY_BYTES_MAX: usize = 4 << 30;
/// Largest wall-clock limit a function may be given (one hour).
pub const TIME_MAX: Duration = Duration::from_secs(3600);
/// Smallest and largest native stack, in KiB, the executor accepts.
pub const STACK_KIB_MIN: usize = 16;
/// See [`STACK_KIB_MIN`].
pub const STACK_KIB_MAX: usize = 64 * 1024;

/// Limits applied to every call of a function (seed: "Resource Limits").
///
/// ```
/// use std::time::Duration;
/// use ferrite_wasm::ResourceLimits;
///
/// let limits = ResourceLimits {
///     max_memory: 16 * 1024 * 1024, // 16 MB
///     max_time: Duration::from_secs(5),
///     max_fuel: 10_000_000,
///     max_stack: 128,
/// };
/// assert_eq!(limits, ResourceLimits::default());
/// assert_eq!(ResourceLimits::quick().max_time, Duration::from_millis(100));
/// assert_eq!(ResourceLimits::batch().max_time, Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Linear memory, in bytes (`MAX_MEMORY`). `memory.grow` past it traps
    /// with [`WasmError::MemoryLimitExceeded`]; a module whose declared
    /// minimum is larger is refused at load.
    pub max_memory: usize,
    /// Wall-clock limit of one call, host-call time included (`TIMEOUT`).
    pub max_time: Duration,
    /// Fuel (roughly, wasm instructions) of one call (`MAX_FUEL`).
    pub max_fuel: u64,
    /// Native stack for wasm frames, in KiB. The engine applies one value per
    /// executor (wasmtime's `max_wasm_stack`): a function's value must equal
    /// the executor's.
    pub max_stack: usize,
}

impl ResourceLimits {
    /// Quick operations: 100 ms timeout (other limits as [`Default`]).
    pub fn quick() -> Self {
        ResourceLimits {
            max_time: Duration::from_millis(100),
            ..Self::default()
        }
    }

    /// Batch processing: 30 s timeout, 64 MB memory and 10^10 fuel.
    pub fn batch() -> Self {
        ResourceLimits {
            max_memory: 64 * 1024 * 1024,
            max_time: Duration::from_secs(30),
            max_fuel: 10_000_000_000,
            ..Self::default()
        }
    }

    /// Checks that every limit is within the runtime's own bounds.
    pub fn validate(&self) -> Result<(), WasmError> {
        if self.max_memory == 0 || self.max_memory > MEMORY_BYTES_MAX {
            return Err(WasmError::InvalidConfig(format!(
                "ERR MAX_MEMORY must be between 1 and {MEMORY_BYTES_MAX} bytes"
            )));
        }
        if self.max_time.is_zero() || self.max_time > TIME_MAX {
            return Err(WasmError::InvalidConfig(format!(
                "ERR TIMEOUT must be between 1 and {} ms",
                TIME_MAX.as_millis()
            )));
        }
        if self.max_fuel == 0 {
            return Err(WasmError::InvalidConfig(
                "ERR MAX_FUEL must be positive".into(),
            ));
        }
        if !(STACK_KIB_MIN..=STACK_KIB_MAX).contains(&self.max_stack) {
            return Err(WasmError::InvalidConfig(format!(
                "ERR max_stack must be between {STACK_KIB_MIN} and {STACK_KIB_MAX} KiB"
            )));
        }
        Ok(())
    }

    /// `max_time` in whole milliseconds (for replies and errors).
    pub fn timeout_ms(&self) -> u64 {
        u64::try_from(self.max_time.as_millis()).unwrap_or(u64::MAX)
    }
}

impl Default for ResourceLimits {
    /// 16 MB memory, 5 s, 10 million fuel, 128 KiB stack (seed `[wasm.limits]`).
    fn default() -> Self {
        ResourceLimits {
            max_memory: 16 * 1024 * 1024,
            max_time: Duration::from_secs(5),
            max_fuel: 10_000_000,
            max_stack: 128,
        }
    }
}

/// Per-function pool of ready (pre-instantiated, never used) instances
/// (seed `[wasm.pool]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Ready instances kept per function.
    pub min_instances: usize,
    /// Instances per function at once (ready plus running); a call beyond it
    /// waits for a slot until its deadline.
    pub max_instances: usize,
    /// Ready instances of a function not called for this long are released.
    pub idle_timeout: Duration,
}

/// Upper bound for [`PoolConfig::max_instances`].
pub const POOL_INSTANCES_MAX: usize = 1024;

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            min_instances: 2,
            max_instances: 16,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

impl PoolConfig {
    /// Checks `min <= max <= POOL_INSTANCES_MAX` and `max >= 1`.
    pub fn validate(&self) -> Result<(), WasmError> {
        if self.max_instances == 0
            || self.max_instances > POOL_INSTANCES_MAX
            || self.min_instances > self.max_instances
        {
            return Err(WasmError::InvalidConfig(format!(
                "ERR pool sizes must satisfy min <= max, 1 <= max <= {POOL_INSTANCES_MAX}"
            )));
        }
        Ok(())
    }
}
