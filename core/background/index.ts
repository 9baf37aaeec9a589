export { startBackgroundLoop, type BackgroundLoop, type BackgroundLoopOptions } from './backgroundLoop';
