use influx_stream::LineProtocol;

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct OnlyTags {
    #[influx(tag)]
    host: String,
    #[influx(time)]
    time: i64,
}

fn main() {}
