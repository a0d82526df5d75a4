use influx_stream::LineProtocol;

struct Opaque;

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct Cpu {
    #[influx(tag)]
    host: Opaque,
    cores: Vec<u32>,
    usage: f64,
}

// A time member of an unsupported type is refused as well; not shown here
// because rustc names the candidate types differently depending on which
// crate features are on.

fn main() {}
