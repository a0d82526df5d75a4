use influx_stream::LineProtocol;

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct TwoTimes {
    usage: f64,
    #[influx(time)]
    started: i64,
    #[influx(time)]
    ended: i64,
}

#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct TimeAsAField {
    usage: f64,
    time: i64,
}

fn main() {}
