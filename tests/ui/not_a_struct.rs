use influx_stream::LineProtocol;

#[derive(LineProtocol)]
enum Event {
    Login { user: String },
}

#[derive(LineProtocol)]
#[influx(measurement = "pair")]
struct Pair(String, f64);

#[derive(LineProtocol)]
#[influx(measurement = "u")]
union Bits {
    int: u64,
    float: f64,
}

fn main() {}
