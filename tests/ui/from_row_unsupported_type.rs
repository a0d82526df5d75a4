use influx_stream::FromRow;

struct Opaque;

#[derive(FromRow)]
struct Cpu {
    time: i64,
    host: Opaque,
    cores: Vec<u32>,
    #[influx(default)]
    usage: Option<f64>,
}

fn main() {}
