use influx_stream::LineProtocol;

struct Opaque;

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct Cpu {
    #[influx(tag)]
    host: Opaque,
    cores: Vec<u32>,
    usage: f64,
    #[influx(time)]
    at: String,
}

fn main() {}
